"""MNIST-style convolutional network, in the manner of pytorch/examples ``mnist/main.py``.

The images are synthetic 28x28 digits-like patterns made here from a seed (no download):
each class is a fixed blocky template, shifted by a pixel or two, plus noise.

    python mnist_cnn.py --epochs 2                 # real PyTorch
    python -m chainrule.compat mnist_cnn.py        # the same script on chainrule

``--deterministic`` switches to float64, initialises every parameter from a NumPy seed,
turns dropout off and keeps the data order fixed, so the loss trajectory is the same on any
framework; ``--losses-out PATH`` writes the per-step losses and final metrics as JSON.
"""
import argparse
import json
import os
import shutil
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, dropout=True):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25 if dropout else 0.0)
        self.dropout2 = nn.Dropout(0.5 if dropout else 0.0)
        self.fc1 = nn.Linear(1152, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def synthetic_digits(n, seed):
    """n images (n, 1, 28, 28) in [0, 1] and labels 0..9 from class templates."""
    rng = np.random.RandomState(seed)
    coarse = (np.random.RandomState(1234).rand(10, 5, 5) > 0.6).astype(np.float64)
    templates = coarse.repeat(4, axis=1).repeat(4, axis=2)  # 20x20 blocky "strokes"
    labels = rng.randint(0, 10, size=n)
    images = np.zeros((n, 1, 28, 28))
    for k in range(n):
        dy, dx = rng.randint(3, 6, size=2)
        images[k, 0, dy:dy + 20, dx:dx + 20] = templates[labels[k]]
    images += 0.3 * rng.rand(n, 1, 28, 28)
    images = (images - 0.3) / 0.5  # normalise, like transforms.Normalize
    return images, labels


def init_from_numpy(model, seed):
    """Deterministic mode: the same initial weights on any framework."""
    rng = np.random.RandomState(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            bound = 1.0 / np.sqrt(p[0].numel()) if p.dim() > 1 else 0.05
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=tuple(p.shape))))


def train(args, model, device, train_loader, optimizer, epoch, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    accuracy = correct / len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset), 100. * accuracy))
    return test_loss, accuracy


def main():
    parser = argparse.ArgumentParser(description='MNIST-style CNN on synthetic digits')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--test-batch-size', type=int, default=100)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--train-size', type=int, default=192)
    parser.add_argument('--lr', type=float, default=1.0)
    parser.add_argument('--gamma', type=float, default=0.7)
    parser.add_argument('--no-cuda', action='store_true', default=False)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--log-interval', type=int, default=5)
    parser.add_argument('--deterministic', action='store_true')
    parser.add_argument('--losses-out', type=str, default=None)
    args = parser.parse_args()
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    torch.manual_seed(args.seed)
    if args.deterministic:
        torch.set_default_dtype(torch.float64)

    train_kwargs = {'batch_size': args.batch_size, 'shuffle': not args.deterministic}
    test_kwargs = {'batch_size': args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1, 'pin_memory': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    dtype = torch.get_default_dtype()
    x_train, y_train = synthetic_digits(args.train_size, args.seed)
    x_test, y_test = synthetic_digits(100, args.seed + 1)
    dataset1 = TensorDataset(torch.tensor(x_train, dtype=dtype), torch.from_numpy(y_train).long())
    dataset2 = TensorDataset(torch.tensor(x_test, dtype=dtype), torch.from_numpy(y_test).long())
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net(dropout=not args.deterministic).to(device)
    if args.deterministic:
        init_from_numpy(model, args.seed)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    losses, test_losses = [], []
    checkpoint_dir = tempfile.mkdtemp()
    checkpoint_path = os.path.join(checkpoint_dir, "checkpoint.pt")
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, losses)
        test_loss, accuracy = test(model, device, test_loader)
        test_losses.append(test_loss)
        scheduler.step()
        # checkpoint every epoch, then resume from it (as a long run would after a crash)
        torch.save({'epoch': epoch,
                    'model_state_dict': model.state_dict(),
                    'optimizer_state_dict': optimizer.state_dict(),
                    'scheduler_state_dict': scheduler.state_dict()}, checkpoint_path)
        checkpoint = torch.load(checkpoint_path, map_location=device)
        model = Net(dropout=not args.deterministic).to(device)
        model.load_state_dict(checkpoint['model_state_dict'])
        optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
        optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
        scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
        scheduler.load_state_dict(checkpoint['scheduler_state_dict'])
        assert checkpoint['epoch'] == epoch

    torch.save(model.state_dict(), os.path.join(checkpoint_dir, "mnist_cnn.pt"))
    reloaded = Net()
    reloaded.load_state_dict(torch.load(os.path.join(checkpoint_dir, "mnist_cnn.pt"),
                                        weights_only=True))
    reloaded_loss, _ = test(reloaded, device, test_loader)
    assert abs(reloaded_loss - test_loss) < 1e-5 * max(1.0, abs(test_loss))
    shutil.rmtree(checkpoint_dir)

    if args.losses_out:
        with open(args.losses_out, 'w') as f:
            json.dump({'losses': losses + test_losses,
                       'final': {'test_loss': test_loss, 'accuracy': accuracy,
                                 'lr': optimizer.param_groups[0]['lr']}}, f)


if __name__ == '__main__':
    main()
