"""The tensor, autograd and neural-network basics of "Deep Learning with PyTorch: A 60 Minute
Blitz", as one script (tensors, the NumPy bridge, autograd, a LeNet-style net and its training).

    python sixty_minute_blitz.py
    python -m chainrule.compat sixty_minute_blitz.py

``--deterministic``: float64 and all inputs/weights from a NumPy seed; ``--losses-out PATH``
writes the losses of the training loop plus the gradients computed along the way as JSON.
"""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument('--deterministic', action='store_true')
parser.add_argument('--losses-out', type=str, default=None)
parser.add_argument('--steps', type=int, default=15)
args = parser.parse_args()
rng = np.random.RandomState(0)
torch.manual_seed(0)
if args.deterministic:
    torch.set_default_dtype(torch.float64)


def randn(*shape):
    """torch.randn, or the same numbers on any framework in deterministic mode."""
    if args.deterministic:
        return torch.from_numpy(rng.standard_normal(shape))
    return torch.randn(*shape)


record = []  # numbers that must agree between frameworks in deterministic mode

# ----------------------------------------------------------------------------- tensors
x = torch.empty(5, 3)
x = torch.rand(5, 3)
x = torch.zeros(5, 3, dtype=torch.long)
assert x.dtype == torch.long and x.sum().item() == 0
x = torch.tensor([5.5, 3])
x = x.new_ones(5, 3, dtype=torch.double)
x = torch.randn_like(x, dtype=torch.float)
print(x.size())
assert x.size() == (5, 3) and isinstance(x.size(), tuple)
x = randn(5, 3)
y = randn(5, 3)
print(x + y)
print(torch.add(x, y))
result = torch.empty(5, 3, dtype=x.dtype)
torch.add(x, y, out=result)
assert torch.equal(result, x + y)
y.add_(x)  # adds x to y in place
assert torch.allclose(y, result)
print(x[:, 1])
x = randn(4, 4)
y = x.view(16)
z = x.view(-1, 8)  # the size -1 is inferred from other dimensions
print(x.size(), y.size(), z.size())
x[0, 0] = 100.0  # a view shares memory: y and z see it
assert y[0].item() == 100.0 and z[0, 0].item() == 100.0
x = randn(1)
print(x, x.item())
record.append(x.item())

# the NumPy bridge: shared memory both ways
a = torch.ones(5)
b = a.numpy()
a.add_(1)
assert b[0] == 2
a = np.ones(5)
b = torch.from_numpy(a)
np.add(a, 1, out=a)
assert b[0].item() == 2.0
print(a, b)

# ----------------------------------------------------------------------------- autograd
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
print(y, y.grad_fn)
assert y.grad_fn is not None and x.grad_fn is None
z = y * y * 3
out = z.mean()
print(z, out)
assert z.grad_fn.name() == 'MulBackward0' and out.grad_fn.name() == 'MeanBackward0'
a = randn(2, 2)
a = ((a * 3) / (a - 1))
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)
b = (a * a).sum()
print(b.grad_fn)
out.backward()
print(x.grad)  # d(out)/dx = 3 * (x + 2) / 2 = 4.5
assert torch.allclose(x.grad, torch.full((2, 2), 4.5))

x = randn(3).requires_grad_()
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y)
v = torch.tensor([0.1, 1.0, 0.0001], dtype=y.dtype)
y.backward(v)  # a vector-Jacobian product: y is not a scalar
print(x.grad)
record += x.grad.tolist()
print(x.requires_grad)
print((x ** 2).requires_grad)
with torch.no_grad():
    print((x ** 2).requires_grad)
    assert not (x ** 2).requires_grad
y = x.detach()
assert not y.requires_grad and torch.all(x.eq(y))


# ----------------------------------------------------------------------------- networks
class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 3x3 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 16, 3)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 6 * 6, 120)  # 6*6 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        # Max pooling over a (2, 2) window
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        # If the size is a square you can only specify a single number
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

    def num_flat_features(self, x):
        size = x.size()[1:]  # all dimensions except the batch dimension
        num_features = 1
        for s in size:
            num_features *= s
        return num_features


net = Net()
print(net)
if args.deterministic:
    with torch.no_grad():
        for name, p in sorted(net.named_parameters()):
            bound = 1.0 / np.sqrt(p[0].numel()) if p.dim() > 1 else 0.05
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=tuple(p.shape))))
params = list(net.parameters())
print(len(params))
print(params[0].size())  # conv1's .weight
assert len(params) == 10 and params[0].size() == (6, 1, 3, 3)

input = randn(1, 1, 32, 32)
out = net(input)
print(out)
net.zero_grad()
out.backward(randn(1, 10))
record += net.conv1.bias.grad.tolist()

output = net(input)
target = randn(10)  # a dummy target, for example
target = target.view(1, -1)  # make it the same shape as output
criterion = nn.MSELoss()
loss = criterion(output, target)
print(loss)
print(loss.grad_fn)  # MSELoss
print(loss.grad_fn.next_functions[0][0])  # Linear
print(loss.grad_fn.next_functions[0][0].next_functions[0][0])  # ReLU
net.zero_grad()  # zeroes the gradient buffers of all parameters
print('conv1.bias.grad before backward')
print(net.conv1.bias.grad)
loss.backward()
print('conv1.bias.grad after backward')
print(net.conv1.bias.grad)
record += net.conv1.bias.grad.tolist()

# the simplest update rule, by hand: weight = weight - learning_rate * gradient
learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate)

# the same with torch.optim
losses = []
optimizer = optim.SGD(net.parameters(), lr=0.01)
for step in range(args.steps):
    optimizer.zero_grad()  # zero the gradient buffers
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()  # does the update
    losses.append(loss.item())
print('losses', losses)
if args.losses_out:
    with open(args.losses_out, 'w') as f:
        json.dump({'losses': losses + record,
                   'final': {'first_loss': losses[0], 'last_loss': losses[-1]}}, f)
