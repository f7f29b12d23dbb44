"""wmf_model and wmf_session: torchvision ResNet, VGG, DenseNet, MobileNet, ShuffleNet, ViT, AlexNet,
GoogLeNet, Inception-v3, ConvNeXt, EfficientNet and RegNet networks run on oneDNN."""
import ctypes
import enum
import weakref

import numpy as np

from ._lib import F32P, PP, P, Handle, as_input, as_output, c_string, fn, getter, init_options, ptr
from .image import Normalize

_SIZE = ctypes.c_size_t
_U32 = ctypes.c_uint32
_U32P = ctypes.POINTER(_U32)


class _Named(enum.IntEnum):
    """A session setting that the CLI and the provenance name in lower case (the member's name)."""

    @classmethod
    def of(cls, value):
        """A member from a member (or its int value) or its name (case-insensitive), as the `wmfeat`
        option takes it; anything else raises ValueError naming the choices."""
        names = {m.name.lower(): m for m in cls}
        if isinstance(value, str):
            if value.lower() not in names:
                raise ValueError(f"{cls._what} {value!r}: expected " + " or ".join(map(repr, names)))
            return names[value.lower()]
        if isinstance(value, bool) or value not in {int(m) for m in cls}:
            raise ValueError(f"{cls._what} {value!r}: expected " + ", ".join(map(repr, names)) + f" or a {cls.__name__}")
        return cls(value)

    @property
    def label(self):
        """The name the provenance records: "fp32", "bf16"; "auto", "direct"."""
        return self.name.lower()


class Precision(_Named):
    """wmf_precision of a session ("fp32", "bf16": `wmfeat --precision`, provenance field "precision")."""
    FP32 = 0
    BF16 = 1


class ConvAlgorithm(_Named):
    """wmf_conv_algorithm of a session: AUTO (Winograd where docs/models.md's rule admits it) or DIRECT
    ("auto", "direct": `wmfeat --conv`, provenance field "convolution")."""
    AUTO = 0
    DIRECT = 1


Precision._what = "precision"
ConvAlgorithm._what = "conv"


class TransformInput(enum.IntEnum):
    """wmf_transform_input: torchvision's transform_input of GoogLeNet and Inception-v3."""
    DEFAULT = 0  # the family's: on for googlenet and inception_v3
    ON = 1
    OFF = 2


class _ModelOptions(ctypes.Structure):
    _fields_ = [("struct_size", _U32), ("allow_unexpected", _U32), ("transform_input", ctypes.c_int32)]


class _SessionOptions(ctypes.Structure):
    _fields_ = [("struct_size", _U32), ("max_batch", _U32), ("input_height", _U32),
                ("input_width", _U32), ("threads", _U32), ("precision", ctypes.c_int),
                ("stage", ctypes.c_char_p), ("conv_algorithm", ctypes.c_int32)]


_model_options_init = fn("wmf_model_options_init", [ctypes.POINTER(_ModelOptions), _SIZE])
_session_options_init = fn("wmf_session_options_init", [ctypes.POINTER(_SessionOptions), _SIZE])
_model_load = fn("wmf_model_load", [PP, P, ctypes.c_char_p, ctypes.POINTER(_ModelOptions)])
_model_destroy = fn("wmf_model_destroy", [P], None)
_model_arch = fn("wmf_model_arch", [P], ctypes.c_char_p)
_model_family = fn("wmf_model_family", [P], ctypes.c_char_p)
_model_class_count = fn("wmf_model_class_count", [P], _SIZE)
fn("wmf_model_num_classes", [P], _SIZE)  # the 1.0 name, declared so that calls through `lib` are typed
_model_feature_count = fn("wmf_model_feature_count", [P], _SIZE)
_model_default_input_size = fn("wmf_model_default_input_size", [P], _U32)
_model_default_resize_size = fn("wmf_model_default_resize_size", [P], _U32)
_model_default_filter = fn("wmf_model_default_filter", [P], ctypes.c_int, check=False)  # a wmf_filter
_model_default_normalize = fn("wmf_model_default_normalize", [P, ctypes.POINTER(Normalize)])
_session_create = fn("wmf_session_create", [PP, P, ctypes.POINTER(_SessionOptions)])
_session_destroy = fn("wmf_session_destroy", [P], None)
_session_run = fn("wmf_session_run", [P, F32P, _SIZE, F32P, _SIZE, F32P, _SIZE])
_session_logit_count = fn("wmf_session_logit_count", [P], _SIZE)
_session_feature_count = fn("wmf_session_feature_count", [P], _SIZE)
_session_stage_feature_count = fn("wmf_session_stage_feature_count", [P], _SIZE)
fn("wmf_session_stage_count", [P], _SIZE)  # the 1.0 name
_session_stage_features = fn("wmf_session_stage_features", [P, F32P, _SIZE])
_session_input_dims = fn("wmf_session_input_dims", [P, _U32P, _U32P, _U32P], None)
_nn_isa = fn("wmf_nn_isa", [], ctypes.c_char_p)
_model_arch_name = fn("wmf_model_arch_name", [_SIZE], ctypes.c_char_p)
_nn_has_bf16 = fn("wmf_nn_has_bf16", [], ctypes.c_int, check=False)


def isa():
    """The instruction set oneDNN dispatches to on this CPU, e.g. "avx512_core_bf16"."""
    return _nn_isa().decode()


def arch_names():
    """The architecture names Model.load accepts ("resnet18", ..., "mobilenet_v2", ..., "shufflenet_v2_x2_0",
    ..., the ConvNeXt, EfficientNet and RegNet names, and the family names "resnet", "vgg", "densenet",
    "mobilenet", "shufflenet", "vit", "convnext", "efficientnet", "regnet" for any configuration)."""
    names, i = [], 0
    while (name := _model_arch_name(i)) is not None:
        names.append(name.decode())
        i += 1
    return names


def has_bf16():
    """True if bf16 sessions are available on this CPU."""
    return bool(_nn_has_bf16())


class Model(Handle):
    """An immutable loaded network (wmf_model); may be shared by threads. Closing it closes the
    sessions made from it first (a session must not outlive its model)."""

    _destroy = _model_destroy

    def __init__(self, ptr):
        super().__init__(ptr)
        self._sessions = weakref.WeakSet()

    @staticmethod
    def load(weights, arch=None, allow_unexpected=False, transform_input=None):
        """Builds the network from opened Weights (torchvision names). `arch` None infers it, or names
        it ("resnet50", "vgg16_bn", "densenet121", "mobilenet_v3_large", "shufflenet_v2_x1_0", "vit_b_16",
        "alexnet", "googlenet", "inception_v3", "convnext_tiny", "efficientnet_b0", "regnet_y_400mf", ...:
        arch_names() lists them all, or a family "resnet"/"vgg"/"densenet"/"mobilenet"/"shufflenet"/"vit"/
        "convnext"/"efficientnet"/"regnet"). transform_input: None for the family's default (on for googlenet and
        inception_v3, as torchvision runs their pretrained weights), True or False (a TransformInput
        value is accepted too)."""
        ti = TransformInput.DEFAULT if transform_input is None else \
            transform_input if isinstance(transform_input, TransformInput) else \
            TransformInput.ON if transform_input else TransformInput.OFF
        opts = init_options(_ModelOptions, _model_options_init,
                            allow_unexpected=1 if allow_unexpected else 0, transform_input=int(ti))
        return Model._make(_model_load, weights, c_string(arch), ctypes.byref(opts))

    @staticmethod
    def open(path, arch=None, allow_unexpected=False, state_dict_key=None, transform_input=None):
        """Opens a weight file, loads the model and closes the file."""
        from .weights import Weights
        with Weights.open(path, state_dict_key) as w:
            return Model.load(w, arch, allow_unexpected, transform_input)

    def close(self):
        for s in list(getattr(self, "_sessions", ())):
            s.close()
        super().close()

    arch = getter(_model_arch, convert=bytes.decode)
    family = getter(_model_family, convert=bytes.decode)
    class_count = getter(_model_class_count, "Number of output classes (logits per image): wmf_model_class_count.")

    num_classes = class_count  # older name (wmf_model_num_classes), kept

    feature_count = getter(_model_feature_count)
    default_input_size = getter(_model_default_input_size,
                                doc="The input size (crop) the weights were trained at: 224, Inception-v3 299, a ViT its fixed size.")

    default_resize_size = getter(_model_default_resize_size,
                                 doc="The shorter side torchvision resizes to before that crop: 256, Inception-v3 342.")

    default_filter = getter(_model_default_filter,
                            doc="That resize's interpolation in torchvision's transforms of the weights: wmfeat.BICUBIC "
                                "(EfficientNet B0, B2-B7, V2-L, regnet_y_128gf, SWAG ViTs) or wmfeat.BILINEAR.")

    @property
    def default_normalize(self):
        """Their Normalize: wmfeat.INCEPTION (mean and std 0.5) for efficientnet_v2_l, else wmfeat.IMAGENET."""
        out = Normalize()
        _model_default_normalize(self, ctypes.byref(out))
        return out

    def session(self, **options):
        """Session(self, **options)."""
        return Session(self, **options)


class Session(Handle):
    """Per-thread inference state (wmf_session): one thread at a time; make one per thread. The GIL is
    released while run() computes."""

    _destroy = _session_destroy

    def __init__(self, model, max_batch=1, input_size=None, threads=0, precision=Precision.FP32,
                 stage=None, conv=ConvAlgorithm.AUTO):
        """input_size: None (the model's default: 224, Inception-v3 299, or the size a ViT is fixed at), an
        int, or (height, width). threads: 0 for oneDNN's default (all cores). precision: "fp32", "bf16" or a
        Precision; bf16 on a CPU without bf16 instructions raises wmfeat.Error (UNSUPPORTED, naming the
        instruction set), never runs as fp32. stage: an intermediate stage to keep ("layer3", ...). conv:
        "auto" (Winograd where docs/models.md's rule admits it), "direct" or a ConvAlgorithm."""
        precision = Precision.of(precision)
        conv = ConvAlgorithm.of(conv)
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        h, w = input_size or (0, 0)
        self._stage = c_string(stage)  # kept alive: the library may keep the pointer
        opts = init_options(_SessionOptions, _session_options_init, max_batch=max_batch,
                            input_height=h, input_width=w, threads=threads,
                            precision=int(precision), stage=self._stage, conv_algorithm=int(conv))
        out = ctypes.c_void_p()
        _session_create(ctypes.byref(out), model, ctypes.byref(opts))
        super().__init__(out)
        self.precision = precision
        self.conv = conv
        self.model = model  # the model must outlive the session
        model._sessions.add(self)

    @staticmethod
    def create(model, **options):
        """Session(model, **options), named as the C constructor wmf_session_create."""
        return Session(model, **options)

    @property
    def input_dims(self):
        """(max_batch, height, width)."""
        b, h, w = _U32(), _U32(), _U32()
        _session_input_dims(self, ctypes.byref(b), ctypes.byref(h), ctypes.byref(w))
        return b.value, h.value, w.value

    logit_count = getter(_session_logit_count)
    feature_count = getter(_session_feature_count)
    stage_feature_count = getter(_session_stage_feature_count,
                                 "Channels of the stage output (0 without a stage): wmf_session_stage_feature_count.")

    stage_count = stage_feature_count  # older name (wmf_session_stage_count), kept: channels, not stages

    def input_batch(self, n=None):
        """A zeroed float32 (n, 3, H, W) array to preprocess images into (Image.preprocess(out=...))."""
        b, h, w = self.input_dims
        return np.zeros((b if n is None else n, 3, h, w), np.float32)

    def run(self, batch, logits=None, features=None, want_logits=True, want_features=True):
        """Runs the network on a preprocessed float32 (N, 3, H, W) batch (read in place when float32
        C-contiguous). Returns (logits (N, classes), features (N, feature_count)) as float32, written
        into `logits` / `features` when given; an output not wanted is None."""
        x = as_input(batch, np.float32, "batch", 4)
        max_batch, h, w = self.input_dims
        n = x.shape[0]
        if x.shape[1:] != (3, h, w):
            raise ValueError(f"batch: expected shape (N, 3, {h}, {w}), got {x.shape}")
        if n == 0:
            raise ValueError("batch is empty")
        if logits is None and want_logits:
            logits = np.empty((n, self.logit_count), np.float32)
        if features is None and want_features:
            features = np.empty((n, self.feature_count), np.float32)
        for out, name in ((logits, "logits"), (features, "features")):
            if out is not None:
                as_output(out, np.float32, name)
        _session_run(self, ptr(x, F32P), n, ptr(logits, F32P), 0 if logits is None else logits.size,
                     ptr(features, F32P), 0 if features is None else features.size)
        self._last_n = n
        return logits, features

    def stage_features(self):
        """The pooled stage output of the last run: float32 (n, stage_feature_count) for its n images."""
        out = np.empty((getattr(self, "_last_n", 1), self.stage_feature_count), np.float32)
        _session_stage_features(self, ptr(out, F32P), out.size)
        return out
