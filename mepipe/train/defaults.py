"""Names and defaults the CLI needs before (and without) importing PyTorch."""

#: fusion variants: the AFN and its ablations (docs/method.md section 4), each a registered model
VARIANTS = ("afn", "trdi", "midi", "concat", "mean", "global", "channel")
#: the model ``mepipe train`` trains without ``--model``
DEFAULT_MODEL = "afn"
#: fixed epochs per fold (ours; the paper does not say): never chosen on a test subject
DEFAULT_EPOCHS = 30
