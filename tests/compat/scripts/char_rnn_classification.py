"""Classifying names by language with a character-level RNN, in the manner of the
"NLP From Scratch: Classifying Names with a Character-Level RNN" tutorial (one-hot letters,
nn.RNN, LogSoftmax, NLLLoss, random_split into train/test). The names are generated here from
per-language syllables, so nothing is downloaded.

    python char_rnn_classification.py
    python -m chainrule.compat char_rnn_classification.py

``--deterministic``: float64, weights from a NumPy seed, a fixed framework-independent
train/test split (a NumPy permutation through ``Subset``, since two frameworks' random number
generators differ) and a fixed batch order; ``--losses-out PATH`` writes the loss of every
batch and the final test accuracy as JSON.
"""
import argparse
import json
import string

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset, Subset, random_split

parser = argparse.ArgumentParser()
parser.add_argument('--epochs', type=int, default=6)
parser.add_argument('--batch-size', type=int, default=16)
parser.add_argument('--lr', type=float, default=0.15)
parser.add_argument('--deterministic', action='store_true')
parser.add_argument('--losses-out', type=str, default=None)
args = parser.parse_args()
torch.manual_seed(2024)
if args.deterministic:
    torch.set_default_dtype(torch.float64)

allowed_characters = string.ascii_letters + " .,;'" + "_"
n_letters = len(allowed_characters)


def letterToIndex(letter):
    # return our out-of-vocabulary character if we encounter a letter unknown to our model
    if letter not in allowed_characters:
        return allowed_characters.find("_")
    else:
        return allowed_characters.find(letter)


def lineToTensor(line):
    """Turn a line into a <line_length x 1 x n_letters> tensor of one-hot letter vectors."""
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


SYLLABLES = {
    'Italian': (['ro', 'ma', 'li', 'ni', 'ti', 'ber', 'gio', 'ca'], ['ni', 'lli', 'tti', 'ri']),
    'Russian': (['ivan', 'pe', 'tro', 'vol', 'kuz', 'smir', 'mik'], ['ov', 'ev', 'sky', 'in']),
    'Japanese': (['ka', 'shi', 'ta', 'mo', 'yo', 'na', 'ku', 'sa'], ['moto', 'shi', 'ra', 'da']),
    'Scottish': (['mac', 'don', 'ald', 'camp', 'fer', 'gus', 'mc'], ['son', 'bell', 'ie', 'ald']),
}


class NamesDataset(Dataset):
    """(label tensor, name tensor, label, name) samples, like the tutorial's NamesDataset."""

    def __init__(self, n_per_language, seed):
        rng = np.random.RandomState(seed)
        self.labels_uniq = sorted(SYLLABLES)
        self.data, self.data_tensors, self.labels, self.labels_tensors = [], [], [], []
        for label in self.labels_uniq:
            starts, ends = SYLLABLES[label]
            for _ in range(n_per_language):
                name = ''.join(starts[rng.randint(len(starts))]
                               for _ in range(rng.randint(1, 3))) + ends[rng.randint(len(ends))]
                name = name.capitalize()
                self.data.append(name)
                self.data_tensors.append(lineToTensor(name))
                self.labels.append(label)
        for idx in range(len(self.labels)):
            temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])],
                                       dtype=torch.long)
            self.labels_tensors.append(temp_tensor)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        data_item = self.data[idx]
        data_label = self.labels[idx]
        data_tensor = self.data_tensors[idx]
        label_tensor = self.labels_tensors[idx]
        return label_tensor, data_tensor, data_label, data_item


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()

        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)

        return output


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


alldata = NamesDataset(20, seed=0)
print(f"loaded {len(alldata)} items of data")
print(f"example = {alldata[0]}")
if args.deterministic:
    order = np.random.RandomState(0).permutation(len(alldata)).tolist()
    cut = int(0.85 * len(alldata))
    train_set, test_set = Subset(alldata, order[:cut]), Subset(alldata, order[cut:])
else:
    train_set, test_set = random_split(alldata, [.85, .15],
                                       generator=torch.Generator(device="cpu").manual_seed(2024))
print(f"train examples = {len(train_set)}, validation examples = {len(test_set)}")

rnn = CharRNN(n_letters, 32, len(alldata.labels_uniq))
if args.deterministic:
    rng = np.random.RandomState(1)
    with torch.no_grad():
        for name, p in sorted(rnn.named_parameters()):
            p.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, size=tuple(p.shape))))
print(rnn)


def train(rnn, training_data, n_epoch=10, n_batch_size=64, learning_rate=0.2,
          criterion=nn.NLLLoss()):
    """Learn on a batch of training_data for a specified number of iterations."""
    all_losses = []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
    shuffle = np.random.RandomState(7)
    for iter in range(1, n_epoch + 1):
        rnn.zero_grad()  # clear the gradients

        # create some minibatches
        # we cannot use dataloaders because each of our names is a different length
        batches = list(range(len(training_data)))
        if not args.deterministic:
            shuffle.shuffle(batches)
        batches = np.array_split(batches, len(batches) // n_batch_size)

        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:  # for each example in this batch
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss

            # optimize parameters
            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()

            all_losses.append(batch_loss.item() / len(batch))
        print(f"{iter} ({iter / n_epoch:.0%}): \t average batch loss = {all_losses[-1]}")
    return all_losses


def evaluate(rnn, testing_data, classes):
    correct = 0
    rnn.eval()  # set to eval mode
    with torch.no_grad():  # do not record the gradients during eval phase
        for i in range(len(testing_data)):
            (label_tensor, text_tensor, label, text) = testing_data[i]
            output = rnn(text_tensor)
            guess, guess_i = label_from_output(output, classes)
            correct += int(guess == label)
    return correct / len(testing_data)


all_losses = train(rnn, train_set, n_epoch=args.epochs, n_batch_size=args.batch_size,
                   learning_rate=args.lr)
accuracy = evaluate(rnn, test_set, classes=alldata.labels_uniq)
print('test accuracy', accuracy)
if args.losses_out:
    with open(args.losses_out, 'w') as f:
        json.dump({'losses': all_losses,
                   'final': {'loss': float(np.mean(all_losses[-4:])), 'accuracy': accuracy}}, f)
