"""Lesson 2: convolution filters and feature maps.

A convolutional layer with ``C`` input channels and ``K`` filters of size ``k x k`` holds
``K`` filters of shape ``k x k x C`` (each looks at every input channel) plus one bias per
filter: ``K * k * k * C`` weights and ``K`` biases, and produces ``K`` output channels (feature
maps), whatever the size of the image. The lesson

1. counts the weights for several configurations and checks them against ``nn.Conv2d``
   (weight shape ``(K, C, k, k)``, PyTorch's layout);
2. applies hand-made 2x2 filters (vertical edge, horizontal edge, the diagonal
   ``[[1, 0], [0, -1]]`` and its mirror) to small binary images of stripes and diagonals, and
   finds which patterns each filter answers with zeros everywhere;
3. trains a small CNN on the 8x8 digits and shows its first-layer filters and feature maps.

Example:
    >>> from chainrule.labs import lesson2_convolution as lesson
    >>> lesson.count_conv_parameters(in_channels=4, filters=3, kernel_size=2)
    {'weights': 48, 'biases': 3, 'weight_shape': [3, 4, 2, 2], 'output_channels': 3}
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.datasets import DIGITS_TRAIN_SIZE, load_digits

from .report import LessonResult, Table, render_figure

KEY = "convolution"
TITLE = "Convolution filters and feature maps"

# (C input channels, K filters, k kernel size)
CONFIGURATIONS = [(4, 3, 2), (1, 8, 3), (3, 16, 5), (16, 32, 3), (64, 128, 1)]


def count_conv_parameters(in_channels: int, filters: int, kernel_size: int) -> dict:
    """Build ``nn.Conv2d(C, K, k)`` and read its parameter counts and output channels."""
    conv = nn.Conv2d(in_channels, filters, kernel_size)
    size = kernel_size + 3
    with chainrule.no_grad():
        out = conv(chainrule.zeros(1, in_channels, size, size))
    return {"weights": conv.weight.numel(), "biases": conv.bias.numel(),
            "weight_shape": list(conv.weight.shape), "output_channels": out.shape[1]}


# -- hand-made filters ---------------------------------------------------------------------------

FILTERS: dict[str, list[list[float]]] = {
    "vertical edge": [[1, -1], [1, -1]],
    "horizontal edge": [[1, 1], [-1, -1]],
    "diagonal [[1,0],[0,-1]]": [[1, 0], [0, -1]],
    "anti-diagonal [[0,1],[-1,0]]": [[0, 1], [-1, 0]],
    "zero filter": [[0, 0], [0, 0]],
}


def pattern_images(size: int = 8) -> dict[str, chainrule.Tensor]:
    """Binary ``size x size`` images: stripes, diagonal lines, all ones, all zeros.

    Pixel ``(i, j)`` is row ``i`` (downwards), column ``j``. "\\\\ diagonals" are lines of
    constant ``j - i``; "/ diagonals" lines of constant ``i + j``.
    """
    i = chainrule.arange(size).reshape(size, 1).expand(size, size)
    j = chainrule.arange(size).reshape(1, size).expand(size, size)
    return {
        "vertical stripes": ((j % 4) < 2).float(),
        "horizontal stripes": ((i % 4) < 2).float(),
        "\\ diagonals": (((j - i) % 4) == 0).float(),
        "/ diagonals": (((i + j) % 4) == 0).float(),
        "all ones": chainrule.ones(size, size),
        "all zeros": chainrule.zeros(size, size),
    }


def filter_responses(images: dict[str, chainrule.Tensor],
                     filters: dict[str, list[list[float]]] = FILTERS
                     ) -> dict[str, dict[str, chainrule.Tensor]]:
    """``responses[filter][pattern]``: the feature map of one filter on one image.

    All filters run as one ``nn.Conv2d(1, len(filters), 2, bias=False)`` whose weights are
    set by hand, on a batch of all images.
    """
    conv = nn.Conv2d(1, len(filters), kernel_size=2, bias=False)
    with chainrule.no_grad():
        conv.weight.copy_(chainrule.tensor(list(filters.values())).unsqueeze(1))
        batch = chainrule.stack(list(images.values())).unsqueeze(1)        # (N, 1, H, W)
        maps = conv(batch)                                                  # (N, K, H-1, W-1)
    return {f: {p: maps[n, k] for n, p in enumerate(images)} for k, f in enumerate(filters)}


# -- a CNN on the digits ---------------------------------------------------------------------------

def make_cnn(seed: int, channels: int = 8) -> nn.Sequential:
    """conv 3x3 (1 -> channels, padding 1) -> ReLU -> max-pool 2 -> linear (channels*16 -> 10)."""
    chainrule.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(channels * 4 * 4, 10))


def train_cnn(epochs: int, seed: int = 0, train_limit: int | None = None,
              batch_size: int = 32, lr: float = 0.01) -> tuple[nn.Sequential, list[float]]:
    """Train :func:`make_cnn` on the digits with Adam; returns the model and test accuracies."""
    pixels, labels = load_digits()
    images = chainrule.from_numpy(pixels).reshape(-1, 1, 8, 8) / 16.0
    targets = chainrule.from_numpy(labels)
    n = DIGITS_TRAIN_SIZE if train_limit is None else min(train_limit, DIGITS_TRAIN_SIZE)
    X, y = images[:n], targets[:n]
    X_test, y_test = images[DIGITS_TRAIN_SIZE:], targets[DIGITS_TRAIN_SIZE:]
    model = make_cnn(seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    order = chainrule.Generator().manual_seed(seed)
    accuracies = []
    for _epoch in range(epochs):
        model.train()
        perm = chainrule.randperm(n, generator=order)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with chainrule.no_grad():
            accuracies.append((model(X_test).argmax(dim=1) == y_test).float().mean().item())
    return model, accuracies


# -- figures ---------------------------------------------------------------------------------------

def _responses_figure(images, responses):
    from matplotlib.figure import Figure as MplFigure

    patterns = list(images)
    fig = MplFigure(figsize=(2.0 * (len(patterns) + 1), 2.0 * (len(responses) + 1)),
                    layout="constrained")
    axes = fig.subplots(len(responses) + 1, len(patterns) + 1)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].axis("off")
    axes[0, 0].text(0.5, 0.5, "filter \\ image", ha="center", va="center", fontsize=10)
    for c, p in enumerate(patterns):
        axes[0, c + 1].imshow(images[p].numpy(), cmap="gray_r", vmin=0, vmax=1)
        axes[0, c + 1].set_title(p, fontsize=9)
    for r, (name, maps) in enumerate(responses.items()):
        kernel = np.array(FILTERS[name], dtype=float)
        axes[r + 1, 0].imshow(kernel, cmap="RdBu_r", vmin=-1, vmax=1)
        for (a, b), v in np.ndenumerate(kernel):
            axes[r + 1, 0].text(b, a, f"{v:g}", ha="center", va="center", fontsize=11,
                                color="white" if abs(v) > 0.5 else "black")
        axes[r + 1, 0].set_title(name, fontsize=8)
        for c, p in enumerate(patterns):
            m = maps[p].numpy()
            ax = axes[r + 1, c + 1]
            ax.imshow(m, cmap="RdBu_r", vmin=-2, vmax=2)
            zero = not np.any(m)
            ax.set_title("all zero" if zero else f"max |r| = {np.abs(m).max():g}",
                         fontsize=8, color="#c5221f" if zero else "black")
            if zero:
                for spine in ax.spines.values():
                    spine.set_edgecolor("#c5221f")
                    spine.set_linewidth(2)
    fig.suptitle("Hand-made 2x2 filters (rows) on binary images (top row): the feature maps "
                 "(red: +, blue: -)", fontsize=11)
    return fig


def _cnn_figure(model, digits: chainrule.Tensor, labels: list[int]):
    from matplotlib.figure import Figure as MplFigure

    conv = model[0]
    weights = conv.weight.detach()[:, 0].numpy()                 # (K, 3, 3)
    with chainrule.no_grad():
        maps = model[1](conv(digits)).numpy()                    # after ReLU: (N, K, 8, 8)
    k = weights.shape[0]
    fig = MplFigure(figsize=(1.5 * (k + 1), 1.6 * (len(labels) + 1)), layout="constrained")
    axes = fig.subplots(len(labels) + 1, k + 1)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].axis("off")
    limit = np.abs(weights).max()
    for f in range(k):
        axes[0, f + 1].imshow(weights[f], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[0, f + 1].set_title(f"filter {f}", fontsize=9)
    for r, label in enumerate(labels):
        axes[r + 1, 0].imshow(digits[r, 0].numpy(), cmap="gray_r")
        axes[r + 1, 0].set_title(f"digit {label}", fontsize=9)
        for f in range(k):
            axes[r + 1, f + 1].imshow(maps[r, f], cmap="magma")
    fig.suptitle("First layer of the trained CNN: its 3x3 filters (top) and the feature maps "
                 "they produce (after ReLU)", fontsize=11)
    return fig


# -- the lesson ------------------------------------------------------------------------------------

def run(quick: bool = False, seed: int = 0,
        progress: Callable[[str], None] | None = None) -> LessonResult:
    """Run lesson 2 and return its numbers, checks and figures."""
    say = progress or (lambda _stage: None)
    result = LessonResult(key=KEY, number=2, title=TITLE)
    numbers = result.numbers

    say("counting weights")
    rows, all_ok = [], True
    for C, K, k in CONFIGURATIONS:
        counted = count_conv_parameters(C, K, k)
        formula = K * k * k * C
        ok = (counted["weights"] == formula and counted["biases"] == K
              and counted["output_channels"] == K and counted["weight_shape"] == [K, C, k, k])
        all_ok &= ok
        numbers[f"conv_{C}x{K}x{k}_weights"] = counted["weights"]
        numbers[f"conv_{C}x{K}x{k}_biases"] = counted["biases"]
        rows.append([C, K, f"{k}x{k}", f"{k}x{k}x{C}", f"{K}*{k}*{k}*{C} = {formula}",
                     counted["weights"], counted["biases"], str(counted["weight_shape"]),
                     counted["output_channels"]])
    result.tables.append(Table(
        "Counting: K filters of k x k x C, checked against nn.Conv2d(C, K, k)",
        ["C (in)", "K (filters)", "kernel", "one filter", "formula K*k*k*C",
         "weights in layer", "biases", "weight shape", "output channels"], rows))
    result.check("3 filters of 2x2 on 4 channels: 2*2*4 = 16 weights each, 48 + 3 biases, "
                 "3 output channels", numbers["conv_4x3x2_weights"] == 48
                 and numbers["conv_4x3x2_biases"] == 3, "nn.Conv2d(4, 3, 2): weight "
                 f"{rows[0][7]}, {numbers['conv_4x3x2_weights']} weights, "
                 f"{numbers['conv_4x3x2_biases']} biases")
    result.check("every configuration matches K*k*k*C weights + K biases and K output channels",
                 all_ok, f"{len(CONFIGURATIONS)} configurations")

    say("hand-made filters")
    images = pattern_images()
    responses = filter_responses(images)
    zero_rows = []
    zero_sets: dict[str, list[str]] = {}
    for name, maps in responses.items():
        zeros = [p for p, m in maps.items() if not bool((m != 0).any())]
        zero_sets[name] = zeros
        numbers[f"zero_response[{name}]"] = zeros
        zero_rows.append([name, ", ".join(zeros),
                          ", ".join(p for p in maps if p not in zeros) or "(none)"])
    result.tables.append(Table("Which images each filter answers with all zeros",
                               ["filter", "all-zero output on", "non-zero output on"], zero_rows))
    expected = {
        "vertical edge": ["horizontal stripes", "all ones", "all zeros"],
        "horizontal edge": ["vertical stripes", "all ones", "all zeros"],
        "diagonal [[1,0],[0,-1]]": ["\\ diagonals", "all ones", "all zeros"],
        "anti-diagonal [[0,1],[-1,0]]": ["/ diagonals", "all ones", "all zeros"],
        "zero filter": list(images),
    }
    for name, zeros in expected.items():
        result.check(f"{name}: all-zero output exactly on {', '.join(zeros)}",
                     sorted(zero_sets[name]) == sorted(zeros),
                     f"measured: {', '.join(zero_sets[name])}")

    epochs = 2 if quick else 12
    say(f"training a CNN on the digits ({epochs} epochs)")
    model, accuracies = train_cnn(epochs, seed=seed, train_limit=600 if quick else None)
    numbers["cnn_test_accuracy"] = accuracies[-1]
    numbers["cnn_test_accuracy_per_epoch"] = accuracies
    numbers["cnn_first_layer_weights"] = model[0].weight.numel()
    result.check("the CNN's first layer has 8 filters of 3x3x1 = 72 weights + 8 biases",
                 model[0].weight.numel() == 72 and model[0].bias.numel() == 8,
                 f"weight {list(model[0].weight.shape)}")
    result.check("the trained CNN classifies the held-out digits far above chance (10%)",
                 accuracies[-1] > 0.5, f"test accuracy {accuracies[-1]:.1%} after {epochs} "
                 "epochs")

    say("figures")
    result.figures.append(render_figure(
        _responses_figure(images, responses), "hand_made_filters",
        "Each 2x2 filter compares neighbouring pixels; its output is zero wherever the image "
        "is constant along the direction the filter differentiates. Red frames: all-zero "
        "feature maps."))
    pixels, labels = load_digits()
    picks = [DIGITS_TRAIN_SIZE + int(np.flatnonzero(labels[DIGITS_TRAIN_SIZE:] == d)[0])
             for d in (0, 3, 7)]
    digits = chainrule.from_numpy(pixels[picks]).reshape(-1, 1, 8, 8) / 16.0
    result.figures.append(render_figure(
        _cnn_figure(model, digits, [int(labels[i]) for i in picks]), "cnn_filters",
        f"The 8 learned 3x3 filters of the CNN's first layer and their feature maps for three "
        f"test digits (test accuracy {accuracies[-1]:.1%})."))

    result.summary = (
        "A layer of K filters of size k x k on C channels has K*k*k*C weights and K biases "
        "(3 filters of 2x2 on 4 channels: 48 + 3) and K output channels. A difference filter "
        "gives all zeros on any image that is constant along its direction, and every "
        "zero-sum filter gives all zeros on a constant image.")
    result.explanation = [
        ("**Counting.** A filter is not k x k: it spans all C input channels, so it has "
         "`k*k*C` weights and one bias, and it produces one output channel. K filters give "
         "`K*k*k*C` weights, `K` biases and K output channels, independent of the image size "
         "(the same weights slide over every position: weight sharing). `nn.Conv2d(C, K, k)` "
         "stores them as a `(K, C, k, k)` tensor, PyTorch's layout."),
        ("**What a filter answers to.** The 2x2 filters here are finite differences: the "
         "vertical-edge filter `[[1,-1],[1,-1]]` computes (left - right), the horizontal one "
         "(top - bottom), and the diagonal filter `[[1,0],[0,-1]]` compares a pixel with its "
         "neighbour down and to the right. Each output is zero wherever the image does not "
         "change along that direction: vertical stripes vanish under the horizontal-edge "
         "filter, horizontal stripes under the vertical one, and `\\` diagonals (lines of "
         "constant `j - i`) under `[[1,0],[0,-1]]`, which does respond to vertical and "
         "horizontal stripes and to `/` diagonals. The trivial solutions: the zero filter "
         "gives zero on everything, every filter gives zero on the blank image, and every "
         "filter whose weights sum to 0 gives zero on a constant image."),
        ("**Learned filters.** A CNN trained on the digits learns its own first-layer "
         "filters; several come out as oriented edge or stroke detectors like the hand-made "
         "ones, and their feature maps light up along the strokes of a digit that run in the "
         "filter's direction."),
    ]
    return result
