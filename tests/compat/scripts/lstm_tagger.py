"""Part-of-speech tagging with an LSTM, in the manner of the "Sequence Models and Long
Short-Term Memory Networks" tutorial (word embeddings -> LSTM -> Linear -> log_softmax,
NLLLoss, SGD). The tagged sentences are generated here from a seed.

    python lstm_tagger.py
    python -m chainrule.compat lstm_tagger.py

``--deterministic``: float64 and weights from a NumPy seed; ``--losses-out PATH`` writes the
mean loss of every epoch and the final tagging accuracy as JSON.
"""
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument('--epochs', type=int, default=20)
parser.add_argument('--lr', type=float, default=0.3)
parser.add_argument('--deterministic', action='store_true')
parser.add_argument('--losses-out', type=str, default=None)
args = parser.parse_args()
torch.manual_seed(1)
if args.deterministic:
    torch.set_default_dtype(torch.float64)


def make_tagged_sentences(n, seed):
    rng = np.random.RandomState(seed)
    lexicon = {"DET": ["the", "a", "every", "that"],
               "NN": ["dog", "apple", "book", "farmer", "river", "cat"],
               "V": ["ate", "read", "saw", "crossed", "likes"],
               "ADJ": ["green", "old", "quiet"]}
    patterns = [["DET", "NN", "V", "DET", "NN"], ["DET", "ADJ", "NN", "V", "DET", "NN"],
                ["NN", "V", "DET", "ADJ", "NN"], ["DET", "NN", "V"]]
    data = []
    for _ in range(n):
        tags = patterns[rng.randint(len(patterns))]
        words = [lexicon[t][rng.randint(len(lexicon[t]))] for t in tags]
        data.append((words, tags))
    return data


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


training_data = make_tagged_sentences(16, seed=0)
test_data = make_tagged_sentences(8, seed=1)
word_to_ix = {}
# For each words-list (sentence) and tags-list in each tuple of training_data
for sent, tags in training_data + test_data:
    for word in sent:
        if word not in word_to_ix:  # word has not been assigned an index yet
            word_to_ix[word] = len(word_to_ix)  # Assign each word with a unique index
tag_to_ix = {"DET": 0, "NN": 1, "V": 2, "ADJ": 3}  # Assign each tag with a unique index

# These will usually be more like 32 or 64 dimensional.
# We will keep them small, so we can see how the weights change as we train.
EMBEDDING_DIM = 6
HIDDEN_DIM = 6


class LSTMTagger(nn.Module):

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim

        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)

        # The LSTM takes word embeddings as inputs, and outputs hidden states
        # with dimensionality hidden_dim.
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)

        # The linear layer that maps from hidden state space to tag space
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
if args.deterministic:
    rng = np.random.RandomState(0)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            p.copy_(torch.from_numpy(rng.uniform(-0.4, 0.4, size=tuple(p.shape))))
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=args.lr)

# See what the scores are before training
# Note that element i,j of the output is the score for tag j for word i.
# Here we don't need to train, so the code is wrapped in torch.no_grad()
with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores)

epoch_losses = []
for epoch in range(args.epochs):  # again, normally you would NOT do 300 epochs, it is toy data
    total = 0.0
    for sentence, tags in training_data:
        # Step 1. Remember that Pytorch accumulates gradients.
        # We need to clear them out before each instance
        model.zero_grad()

        # Step 2. Get our inputs ready for the network, that is, turn them into
        # Tensors of word indices.
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)

        # Step 3. Run our forward pass.
        tag_scores = model(sentence_in)

        # Step 4. Compute the loss, gradients, and update the parameters by
        #  calling optimizer.step()
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    epoch_losses.append(total / len(training_data))
    print('epoch', epoch, 'loss', epoch_losses[-1])

# See what the scores are after training
correct = count = 0
with torch.no_grad():
    for sentence, tags in test_data:
        tag_scores = model(prepare_sequence(sentence, word_to_ix))
        predicted = tag_scores.argmax(dim=1)
        correct += (predicted == prepare_sequence(tags, tag_to_ix)).sum().item()
        count += len(tags)
accuracy = correct / count
print('test tagging accuracy', accuracy)
if args.losses_out:
    with open(args.losses_out, 'w') as f:
        json.dump({'losses': epoch_losses,
                   'final': {'loss': epoch_losses[-1], 'accuracy': accuracy}}, f)
