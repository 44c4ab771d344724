"""Fit y = sin(x) with y = a + b * P3(c + d * x), where P3 is the Legendre polynomial of
degree three written as a custom ``torch.autograd.Function`` with its own backward (in the
manner of the "Learning PyTorch with Examples" tutorial, ``polynomial_custom_function.py``).

    python polynomial_custom_function.py
    python -m chainrule.compat polynomial_custom_function.py

``--deterministic`` uses float64 (all data is fixed anyway); ``--losses-out PATH`` writes the
loss every 20 iterations and the final coefficients as JSON.
"""
import argparse
import json
import math

import torch


class LegendrePolynomial3(torch.autograd.Function):
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """

    @staticmethod
    def forward(ctx, input):
        """
        In the forward pass we receive a Tensor containing the input and return
        a Tensor containing the output. ctx is a context object that can be used
        to stash information for backward computation.
        """
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor containing the gradient of the loss
        with respect to the output, and we need to compute the gradient of the loss
        with respect to the input.
        """
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


parser = argparse.ArgumentParser()
parser.add_argument('--iterations', type=int, default=600)
parser.add_argument('--points', type=int, default=500)
parser.add_argument('--deterministic', action='store_true')
parser.add_argument('--losses-out', type=str, default=None)
args = parser.parse_args()

dtype = torch.float64 if args.deterministic else torch.float
device = torch.device("cpu")

# Create Tensors to hold input and outputs.
# By default, requires_grad=False, which indicates that we do not need to
# compute gradients with respect to these Tensors during the backward pass.
x = torch.linspace(-math.pi, math.pi, args.points, device=device, dtype=dtype)
y = torch.sin(x)

# Create random Tensors for weights. For this example, we need
# 4 weights: y = a + b * P3(c + d * x), these weights need to be initialized
# not too far from the correct result to ensure convergence.
# Setting requires_grad=True indicates that we want to compute gradients with
# respect to these Tensors during the backward pass.
a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6 * 2000 / args.points
losses = []
for t in range(args.iterations):
    # To apply our Function, we use Function.apply method. We alias this as 'P3'.
    P3 = LegendrePolynomial3.apply

    # Forward pass: compute predicted y using operations; we compute
    # P3 using our custom autograd operation.
    y_pred = a + b * P3(c + d * x)

    # Compute and print loss
    loss = (y_pred - y).pow(2).sum()
    if t % 20 == 19:
        print(t, loss.item())
        losses.append(loss.item())

    # Use autograd to compute the backward pass.
    loss.backward()

    # Update weights using gradient descent
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        # Manually zero the gradients after updating weights
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

assert a.is_leaf and a.requires_grad  # `a -= ...` under no_grad kept the same leaf
print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')
if args.losses_out:
    with open(args.losses_out, 'w') as f:
        json.dump({'losses': losses + [a.item(), b.item(), c.item(), d.item()],
                   'final': {'loss': losses[-1], 'first_loss': losses[0],
                             'rms_error': math.sqrt(losses[-1] / args.points)}}, f)
