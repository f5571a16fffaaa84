"""Names and defaults the CLI needs before (and without) importing PyTorch."""

#: fusion variants: the AFN and its ablations (docs/method.md section 4)
VARIANTS = ("afn", "trdi", "midi", "concat", "mean", "global", "channel")
#: fixed epochs per fold (ours; the paper does not say): never chosen on a test subject
DEFAULT_EPOCHS = 30
