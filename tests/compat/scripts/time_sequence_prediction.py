"""Sine-wave prediction with two stacked LSTMCells trained by L-BFGS, in the manner of
pytorch/examples ``time_sequence_prediction`` (data generated here, float64 throughout).

    python time_sequence_prediction.py --steps 3
    python -m chainrule.compat time_sequence_prediction.py --steps 3

``--deterministic``: weights from a NumPy seed (the model is float64 in both modes);
``--losses-out PATH`` writes every closure loss and each step's test loss as JSON.
"""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


def make_sine_data(n=12, length=40, period=8, seed=2):
    """n sine waves, each shifted by a random phase (the example's generate_sine_wave.py)."""
    np.random.seed(seed)
    x = np.empty((n, length), 'int64')
    x[:] = np.array(range(length)) + np.random.randint(-4 * period, 4 * period, n).reshape(n, 1)
    data = np.sin(x / 1.0 / period).astype('float64')
    return data


class Sequence(nn.Module):
    def __init__(self, hidden=12):
        super(Sequence, self).__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def init_from_numpy(model, seed):
    rng = np.random.RandomState(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, size=tuple(p.shape))))


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=3, help='steps to run')
    parser.add_argument('--future', type=int, default=20)
    parser.add_argument('--deterministic', action='store_true')
    parser.add_argument('--losses-out', type=str, default=None)
    opt = parser.parse_args()
    # set random seed to 0
    np.random.seed(0)
    torch.manual_seed(0)
    # load data and make training set
    data = make_sine_data()
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    # build the model
    seq = Sequence()
    seq.double()
    if opt.deterministic:
        init_from_numpy(seq, 0)
    criterion = nn.MSELoss()
    # use LBFGS as optimizer since we can load the whole data to train
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=10)
    losses, test_losses = [], []
    # begin to train
    for i in range(opt.steps):
        print('STEP: ', i)

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print('loss:', loss.item())
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        # begin to predict, no need to track gradient here
        with torch.no_grad():
            future = opt.future
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print('test loss:', loss.item())
            test_losses.append(loss.item())
            y = pred.detach().numpy()
        assert y.shape == (3, test_input.size(1) + future)
    if opt.losses_out:
        with open(opt.losses_out, 'w') as f:
            json.dump({'losses': losses + test_losses,
                       'final': {'test_loss': test_losses[-1], 'first_loss': losses[0]}}, f)
