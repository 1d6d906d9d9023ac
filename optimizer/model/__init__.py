"""The CP-SAT model, in the order data → build → solve → read."""
