"""Names and defaults the CLI needs before (and without) importing PyTorch."""

#: fusion variants: the AFN and its ablations (docs/method.md section 4), each a registered model
VARIANTS = ("afn", "trdi", "midi", "concat", "mean", "global", "channel")
#: the model ``mepipe train`` trains without ``--model``
DEFAULT_MODEL = "afn"
#: fixed epochs per fold (ours; the paper does not say): never chosen on a test subject
DEFAULT_EPOCHS = 30
#: the run spot-then-recognise trains by default (mepipe.spot.recognise): small and quick on
#: a CPU, fixed in advance for every fold
RECOGNISE_TRAINING = {"epochs": 10, "batch": 16, "lr": 1e-3, "width": 16, "device": "cpu"}
#: side of the clips spot-then-recognise cuts from long videos by default, pixels
RECOGNISE_SIZE = 64
