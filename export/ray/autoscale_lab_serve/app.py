"""Ray Serve application for configs exported by ``deno task export --to serve|rayservice``.

An ONNX Runtime image classifier (ResNet-50 by default) answering ``POST /`` with JSON
``{"uri": ...}`` or raw image bytes, as autoscale-lab's own service does: the top-1 label as
text, or JSON with ``?top=N`` / ``Accept: application/json``.

The exported Serve config binds it through ``import_path: autoscale_lab_serve.app:app_builder``
and passes the project's settings in the application's ``args`` (Ray ignores unknown keys
elsewhere): ``model`` ({url, sha256} or {noop_service_time_ms}), ``labels`` ({url, sha256}),
``deployment_name`` (the config's deployment name; the config's options override the code's),
``top_k``, ``max_image_bytes``, ``max_image_pixels``, ``image_fetch_timeout_s``.

Preprocessing is torchvision's ImageNet recipe: decode to RGB (EXIF orientation applied), resize
the shorter side to 256 with PIL's bilinear filter (antialiased, as torchvision's ``Resize`` on a
PIL image), centre-crop 224, scale to 0..1, normalise with the ImageNet mean/std, NCHW float32.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
import time
import urllib.parse
import urllib.request

import numpy as np
from PIL import Image, ImageOps
from ray import serve

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
NOOP_LABEL = "noop"


class RequestError(Exception):
    """A request the client got wrong (or an image that could not be used), with its status."""

    def __init__(self, status: int, error: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def resized_size(width: int, height: int, shorter: int) -> tuple[int, int]:
    """torchvision ``Resize(shorter)``: the shorter side becomes ``shorter``, the other scales down."""
    if width <= height:
        return shorter, max(1, int(shorter * height / width))
    return max(1, int(shorter * width / height)), shorter


def preprocess(image_bytes: bytes, size: int = 224, resize_shorter: int = 256,
               max_pixels: int = 40_000_000) -> np.ndarray:
    """Image bytes -> a ``[1, 3, size, size]`` float32 tensor (torchvision's ImageNet recipe)."""
    try:
        image = Image.open(io.BytesIO(image_bytes))
        if image.width * image.height > max_pixels:
            raise RequestError(413, "image_too_many_pixels",
                               f"the image has {image.width * image.height} pixels; the limit is {max_pixels}")
        image = ImageOps.exif_transpose(image).convert("RGB")
    except RequestError:
        raise
    except Exception as error:  # PIL raises several types for undecodable input
        raise RequestError(422, "undecodable_image", f"the image could not be decoded: {error}") from error
    new_w, new_h = resized_size(image.width, image.height, resize_shorter)
    image = image.resize((new_w, new_h), Image.BILINEAR)
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    image = image.crop((left, top, left + size, top + size))
    array = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    array = (array - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(array.transpose(2, 0, 1)[np.newaxis, ...], dtype=np.float32)


def fetch_verified(url: str, sha256: str, cache_dir: str | None = None, timeout_s: float = 600) -> bytes:
    """Downloads ``url`` (http, https or file) once, checks its sha256, and caches it by hash."""
    cache_dir = cache_dir or os.environ.get("AUTOSCALE_LAB_CACHE") or os.path.join(tempfile.gettempdir(), "autoscale_lab")
    path = os.path.join(cache_dir, sha256)
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (URL from the config)
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ValueError(f"{url}: sha256 is {digest}, the config says {sha256}")
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data


def fetch_image(uri: str, max_bytes: int, timeout_s: float) -> bytes:
    """The bytes of an ``http(s)://`` or ``data:`` image URI, at most ``max_bytes``."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme == "data":
        header, _, payload = uri.partition(",")
        data = base64.b64decode(payload) if header.endswith(";base64") else urllib.parse.unquote_to_bytes(payload)
    elif scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(uri, timeout=timeout_s) as response:  # noqa: S310
                data = response.read(max_bytes + 1)
        except Exception as error:
            raise RequestError(502, "image_fetch_failed", f"could not fetch {uri}: {error}") from error
    else:
        raise RequestError(400, "invalid_uri", f'"uri" must be an http, https or data: URI, got {uri!r}')
    if len(data) > max_bytes:
        raise RequestError(413, "image_too_large", f"the image is over {max_bytes} bytes")
    return data


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - np.max(logits)
    exp = np.exp(shifted)
    return exp / np.sum(exp)


@serve.deployment
class ImageClassifier:
    """One replica: an ONNX Runtime session (CPU provider) or the no-op model."""

    def __init__(self, model: dict, labels: dict, top_k: int = 5, max_image_bytes: int = 20_000_000,
                 max_image_pixels: int = 40_000_000, image_fetch_timeout_s: float = 10):
        self.top_k = top_k
        self.max_image_bytes = max_image_bytes
        self.max_image_pixels = max_image_pixels
        self.image_fetch_timeout_s = image_fetch_timeout_s
        self.noop_ms = model.get("noop_service_time_ms")
        if self.noop_ms is not None:
            self.session = None
            self.labels = [NOOP_LABEL]
            return
        import onnxruntime as ort  # imported here: a no-op replica needs no runtime

        model_bytes = fetch_verified(model["url"], model["sha256"])
        self.session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.labels = fetch_verified(labels["url"], labels["sha256"]).decode("utf-8").splitlines()

    def classify(self, image_bytes: bytes, top: int = 1) -> list[dict]:
        """The ``top`` labels with their probabilities, best first."""
        if self.session is None:
            time.sleep(self.noop_ms / 1000)
            return [{"index": 0, "label": NOOP_LABEL, "probability": 1.0}]
        tensor = preprocess(image_bytes, max_pixels=self.max_image_pixels)
        logits = self.session.run(None, {self.input_name: tensor})[0].reshape(-1)
        probs = softmax(logits.astype(np.float64))
        order = np.argsort(-probs)[:top]
        return [{"index": int(i), "label": self.labels[i], "probability": float(probs[i])} for i in order]

    async def __call__(self, request):
        try:
            top_param = request.query_params.get("top")
            top = self.top_k
            if top_param is not None:
                if not top_param.isdigit() or not 1 <= int(top_param) <= 1000:
                    raise RequestError(400, "invalid_top", f"top must be an integer from 1 to 1000, got {top_param!r}")
                top = int(top_param)
            wants_json = top_param is not None or "application/json" in request.headers.get("accept", "")
            body = await request.body()
            if not body:
                raise RequestError(400, "empty_body", 'send JSON {"uri": "..."} or the image bytes')
            if body.lstrip()[:1] == b"{":
                try:
                    value = json.loads(body)
                except ValueError as error:
                    raise RequestError(400, "invalid_json", f"the body is not valid JSON ({error})") from error
                uri = value.get("uri") if isinstance(value, dict) else None
                if not isinstance(uri, str) or not uri.strip():
                    raise RequestError(400, "missing_uri", 'expected {"uri": "https://..." or "data:image/..."}')
                body = fetch_image(uri, self.max_image_bytes, self.image_fetch_timeout_s)
            elif len(body) > self.max_image_bytes:
                raise RequestError(413, "image_too_large", f"the image is over {self.max_image_bytes} bytes")
            results = self.classify(body, top if wants_json else 1)
        except RequestError as error:
            return error_response(error)
        if wants_json:
            return {"label": results[0]["label"], "top": results}
        return results[0]["label"]


def error_response(error: RequestError):
    """A JSON error with its status (Starlette is present wherever Ray Serve is)."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": error.error, "detail": error.detail}, status_code=error.status)


def app_builder(args: dict):
    """The application: the classifier bound under the config's deployment name."""
    name = args.get("deployment_name", "ImageClassifier")
    options = {k: args[k] for k in ("top_k", "max_image_bytes", "max_image_pixels", "image_fetch_timeout_s") if k in args}
    return ImageClassifier.options(name=name).bind(model=args["model"], labels=args["labels"], **options)
