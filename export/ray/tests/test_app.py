"""Tests of the Ray Serve app without Ray: a stub ``ray.serve``, Debian's PIL and numpy.

Run: ``python3 -m unittest discover -s export/ray/tests -v`` (tests/export/ray_app_test.ts runs
it with FIXTURES_DIR and PROJECT_TENSOR, the project's own preprocessing of the fixture dog).
"""
import asyncio
import base64
import hashlib
import os
import sys
import tempfile
import types
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


class _Bound:
    def __init__(self, deployment, name, args, kwargs):
        self.deployment, self.name, self.args, self.kwargs = deployment, name, args, kwargs


class _Deployment:
    """What ``@serve.deployment`` returns, enough for ``.options(name=...).bind(...)``."""

    def __init__(self, cls, name=None):
        self.func_or_class, self.name = cls, name or cls.__name__

    def options(self, name=None, **_):
        return _Deployment(self.func_or_class, name)

    def bind(self, *args, **kwargs):
        return _Bound(self, self.name, args, kwargs)


def _install_stub_ray():
    ray = types.ModuleType("ray")
    serve = types.ModuleType("ray.serve")
    serve.deployment = lambda cls=None, **_: _Deployment(cls) if cls else (lambda c: _Deployment(c))
    ray.serve = serve
    sys.modules["ray"], sys.modules["ray.serve"] = ray, serve


_install_stub_ray()
from autoscale_lab_serve import app  # noqa: E402

FIXTURES = os.environ.get("FIXTURES_DIR", os.path.join(HERE, "..", "..", "..", "..", "shared", "fixtures"))
DOG = os.path.join(FIXTURES, "dog.jpg")
LABELS = os.path.join(FIXTURES, "imagenet_classes.txt")
HAVE_FIXTURES = os.path.exists(DOG) and os.path.exists(LABELS)


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class _Session:
    """Stands in for onnxruntime.InferenceSession: logits peaking at one class."""

    def __init__(self, peak):
        self.peak, self.seen = peak, None

    def get_inputs(self):
        return [types.SimpleNamespace(name="input")]

    def run(self, _outputs, feeds):
        self.seen = feeds["input"]
        logits = np.zeros((1, 1000), dtype=np.float32)
        logits[0, self.peak] = 10.0
        return [logits]


class _Request:
    def __init__(self, body, query=None, headers=None):
        self._body, self.query_params, self.headers = body, query or {}, headers or {}

    async def body(self):
        return self._body


class AppTest(unittest.TestCase):
    def test_module_imports_with_a_stub_ray_serve_and_builds_the_app_under_the_configs_name(self):
        bound = app.app_builder({
            "deployment_name": "ImageClassifier",
            "model": {"url": "https://example.invalid/m.onnx", "sha256": "0" * 64},
            "labels": {"url": "https://example.invalid/l.txt", "sha256": "1" * 64},
            "top_k": 3,
        })
        self.assertEqual(bound.name, "ImageClassifier")
        self.assertIs(bound.deployment.func_or_class, app.ImageClassifier.func_or_class)
        self.assertEqual(bound.kwargs["top_k"], 3)
        self.assertEqual(bound.kwargs["model"]["sha256"], "0" * 64)

    @unittest.skipUnless(HAVE_FIXTURES, "../shared/fixtures is absent")
    def test_preprocessing_matches_the_projects_on_the_fixture_dog(self):
        with open(DOG, "rb") as f:
            ours = app.preprocess(f.read())
        self.assertEqual(ours.shape, (1, 3, 224, 224))
        self.assertEqual(ours.dtype, np.float32)
        path = os.environ.get("PROJECT_TENSOR")
        if not path:
            self.skipTest("PROJECT_TENSOR not given (run through tests/export/ray_app_test.ts)")
        project = np.fromfile(path, dtype=np.float32).reshape(1, 3, 224, 224)
        diff = np.abs(ours - project)
        # One level of 255 is 1/255/0.225 ~ 0.017 after normalisation.
        level = 1 / 255 / 0.225
        p95, p99 = np.percentile(diff, [95, 99]) / level
        print(f"\npreprocess vs project: mean |diff| {diff.mean() / level:.3f} levels of 255, "
              f"p95 {p95:.2f}, p99 {p99:.2f}, max {diff.max() / level:.1f}")
        # PIL's libjpeg and sharp's libjpeg-turbo decode (IDCT, chroma upsampling) differently, so
        # the tensors differ by about a level on average, more at sharp edges; a wrong recipe (no
        # normalisation, another crop, channels swapped) differs by tens of levels everywhere.
        self.assertLess(diff.mean(), 1.0 * level)
        self.assertLess(p95, 4.0)
        out = os.environ.get("PYTHON_TENSOR_OUT")
        if out:
            ours.tofile(out)

    @unittest.skipUnless(HAVE_FIXTURES, "../shared/fixtures is absent")
    def test_a_request_gets_the_label_of_the_top_class_from_the_checksummed_labels(self):
        cache = tempfile.mkdtemp()
        replica = app.ImageClassifier.func_or_class.__new__(app.ImageClassifier.func_or_class)
        replica.top_k, replica.max_image_bytes, replica.max_image_pixels = 5, 20_000_000, 40_000_000
        replica.image_fetch_timeout_s, replica.noop_ms = 10, None
        replica.session, replica.input_name = _Session(258), "input"
        url = "file://" + os.path.abspath(LABELS)
        replica.labels = app.fetch_verified(url, _sha256(LABELS), cache_dir=cache).decode().splitlines()
        with open(DOG, "rb") as f:
            dog = f.read()
        self.assertEqual(asyncio.run(replica(_Request(dog))), "Samoyed")
        self.assertEqual(replica.session.seen.shape, (1, 3, 224, 224))
        data_uri = "data:image/jpeg;base64," + base64.b64encode(dog).decode()
        answer = asyncio.run(replica(_Request(('{"uri": "%s"}' % data_uri).encode(), {"top": "2"})))
        self.assertEqual(answer["label"], "Samoyed")
        self.assertEqual(len(answer["top"]), 2)
        with self.assertRaisesRegex(ValueError, "sha256 is"):
            app.fetch_verified(url, "f" * 64, cache_dir=cache)

    def test_torchvision_resize_size(self):
        self.assertEqual(app.resized_size(1546, 1213, 256), (326, 256))
        self.assertEqual(app.resized_size(100, 300, 256), (256, 768))


if __name__ == "__main__":
    unittest.main()
