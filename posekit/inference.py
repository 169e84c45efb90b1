"""A thin, checked wrapper around :class:`onnxruntime.InferenceSession` tuned for posekit's models.

:class:`InferenceSession` loads one ``.onnx`` file for low-latency, one-request-at-a-time runs
(full graph optimisation, sequential execution, one inter-op thread) and turns onnxruntime's
failures into :class:`~posekit.errors.ModelError` / :class:`~posekit.errors.ProviderError`.
Intra-op threads default to :data:`DEFAULT_NUM_THREADS` (2, capped at the CPU count,
overridable with ``$POSEKIT_NUM_THREADS``); ``spin`` says whether idle threads busy-wait between
operators (lowest latency) or sleep. Why two threads, and why the tracker adapts the count under
load (:class:`posekit.adaptive.AdaptiveSession`): ``docs/design/threads.md``.

Example:
    >>> import numpy as np
    >>> from posekit.models import model_path
    >>> sess = InferenceSession(model_path("pose_detection"), num_threads=1)  # doctest: +SKIP
    >>> out = sess.run({"input_1": np.zeros((1, 224, 224, 3), np.float32)})  # doctest: +SKIP
    >>> out["Identity"].shape  # doctest: +SKIP
    (1, 2254, 12)
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

from posekit.errors import InputError, ModelError, ProviderError

__all__ = [
    "DEFAULT_NUM_THREADS",
    "NUM_THREADS_ENV",
    "PROVIDER_ALIASES",
    "THREADS_PER_CPU",
    "InferenceSession",
    "ModelRunner",
    "available_providers",
    "check_num_threads",
    "cpu_only",
    "default_num_threads",
    "max_num_threads",
    "resolve_provider",
]

logger = logging.getLogger(__name__)

NUM_THREADS_ENV = "POSEKIT_NUM_THREADS"

DEFAULT_NUM_THREADS = 2
"""Intra-op threads when none are requested; capped at the CPU count (measurements in module doc).

These models are small: beyond two threads the gain is marginal while the cost under contention
grows, so the default does not scale with the core count."""

THREADS_PER_CPU = 4
"""Most intra-op threads per model per CPU (:func:`max_num_threads`). These models gain nothing
beyond two threads; an absurd count (``num_threads=1000000``) made onnxruntime try to start a
million threads: a hang with gigabytes of resident memory instead of an error."""

PROVIDER_ALIASES: Mapping[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "gpu": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "qnn": "QNNExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider",
    "webgpu": "WebGpuExecutionProvider",
    "azure": "AzureExecutionProvider",
}
"""Short, case-insensitive provider names accepted besides onnxruntime's full names."""

_INSTALL_HINTS: Mapping[str, str] = {
    "CUDAExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-gpu "
    "(needs an NVIDIA GPU with matching CUDA/cuDNN libraries)",
    "TensorrtExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-gpu "
    "and install TensorRT",
    "CoreMLExecutionProvider": "use the standard onnxruntime wheel on macOS (CoreML is Apple-only)",
    "OpenVINOExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-openvino",
    "DmlExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-directml "
    "(Windows only)",
    "ROCMExecutionProvider": "install onnxruntime built with ROCm (AMD GPUs, Linux)",
    "MIGraphXExecutionProvider": "install onnxruntime built with MIGraphX (AMD GPUs, Linux)",
    "QNNExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-qnn "
    "(Qualcomm NPUs)",
    "XnnpackExecutionProvider": "install an onnxruntime build with XNNPACK enabled",
    "WebGpuExecutionProvider": "install an onnxruntime build with WebGPU enabled",
}

_ORT_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError,
    ValueError,
    TypeError,
    *(
        cls
        for cls in vars(_ort_state).values()
        if isinstance(cls, type) and issubclass(cls, Exception)
    ),
)

Shape = tuple[int | None, ...]


def max_num_threads() -> int:
    """The largest accepted intra-op thread count: :data:`THREADS_PER_CPU` x ``os.cpu_count()``
    (at least 8, so that a small container still allows a little oversubscription).

    >>> max_num_threads() >= 8
    True
    """
    return max(8, THREADS_PER_CPU * (os.cpu_count() or 1))


def check_num_threads(value: object, what: str = "num_threads") -> int:
    """``value`` as a thread count, or :class:`~posekit.errors.InputError` naming ``what``, the
    accepted range (1 to :func:`max_num_threads`) and the fix. Checked before onnxruntime sees it.

    >>> check_num_threads(2)
    2
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f"{what} must be a positive integer, got {value!r:.60}: pass a thread count such "
            "as 1 or 2 (or None for posekit's default)"
        )
    limit = max_num_threads()
    if value > limit:
        raise InputError(
            f"{what}={value} is more threads than this machine can use: at most {limit} "
            f"({THREADS_PER_CPU} per CPU, {os.cpu_count() or 1} CPUs); these models gain "
            "nothing beyond 2 threads, so pass 1 or 2 (or None for posekit's default)"
        )
    return value


def default_num_threads() -> int:
    """Intra-op thread count used when ``num_threads`` is not given.

    ``$POSEKIT_NUM_THREADS`` if set (at most :func:`max_num_threads`), else
    :data:`DEFAULT_NUM_THREADS`, capped at ``os.cpu_count()``.
    """
    raw = os.environ.get(NUM_THREADS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError as exc:
            raise InputError(
                f"{NUM_THREADS_ENV}={raw!r} is not an integer; set it to a thread count such as 1"
            ) from exc
        if value < 1:
            raise InputError(f"{NUM_THREADS_ENV}={raw!r} must be >= 1")
        return check_num_threads(value, NUM_THREADS_ENV)
    return max(1, min(DEFAULT_NUM_THREADS, os.cpu_count() or 1))


def threads_pinned(num_threads: int | None) -> bool:
    """True when the caller fixed the thread count (``num_threads`` or ``$POSEKIT_NUM_THREADS``).

    A pinned count is used as is; otherwise posekit may adapt it to the load
    (:class:`posekit.adaptive.AdaptiveSession`).

    >>> threads_pinned(1)
    True
    """
    return num_threads is not None or bool(os.environ.get(NUM_THREADS_ENV, "").strip())


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers (full names)."""
    return list(ort.get_available_providers())


def resolve_provider(name: str) -> str:
    """Full onnxruntime provider name for a short name (``"cuda"``) or a full name.

    Example:
        >>> resolve_provider("CUDA"), resolve_provider("CPUExecutionProvider")
        ('CUDAExecutionProvider', 'CPUExecutionProvider')
    """
    key = name.strip()
    if key.lower() in PROVIDER_ALIASES:
        return PROVIDER_ALIASES[key.lower()]
    for full in (*PROVIDER_ALIASES.values(), *available_providers()):
        if key.lower() in (full.lower(), full.lower().removesuffix("executionprovider")):
            return full
    if key.endswith("ExecutionProvider"):
        return key
    raise ProviderError(
        f"unknown execution provider {name!r}; use one of "
        f"{', '.join(sorted(set(PROVIDER_ALIASES)))} or a full onnxruntime provider name "
        f"(available here: {', '.join(available_providers())})"
    )


def _shape(raw: Sequence[Any]) -> Shape:
    return tuple(d if isinstance(d, int) and d >= 0 else None for d in raw)


_NP_DTYPES: Mapping[str, np.dtype[Any]] = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(float16)": np.dtype(np.float16),
    "tensor(double)": np.dtype(np.float64),
    "tensor(int64)": np.dtype(np.int64),
    "tensor(int32)": np.dtype(np.int32),
    "tensor(uint8)": np.dtype(np.uint8),
    "tensor(int8)": np.dtype(np.int8),
    "tensor(bool)": np.dtype(np.bool_),
}


class ModelRunner(Protocol):
    """What posekit's stages need from a model session (:class:`InferenceSession` fits).

    Tests and experiments can inject anything with this method.
    """

    def run_outputs(
        self, output_names: Sequence[str], feeds: Mapping[str, NDArray[Any]]
    ) -> list[NDArray[Any]]:
        """Run the model on ``feeds`` and return the named outputs, in order."""
        ...


class InferenceSession:
    """An onnxruntime session with posekit's defaults and clear errors.

    Args:
        path: the ``.onnx`` file (see :func:`posekit.models.model_path`).
        num_threads: intra-op threads; default :func:`default_num_threads` (2, capped at the
            CPU count). Use 1 when the cores are shared with other busy work: there one thread
            can be 2x faster than two (measurements: ``docs/design/threads.md``).
        providers: execution providers in priority order, by short name (``"cuda"``,
            ``"coreml"``, ``"openvino"``, ``"dml"``...) or full name. The CPU provider is always
            appended as the fallback for operators a provider does not support.
        allow_cpu_fallback: when a requested provider is unavailable, log a warning and run on
            the CPU instead of raising :class:`ProviderError`.
        spin: let idle intra-op threads busy-wait (``True``, onnxruntime's default: lowest
            latency) or sleep (``False``: frees the CPU between frames). ``None`` keeps the default.
        expected_sha256: when given, the file's sha256 is compared with this value before
            loading, so a model damaged after install (bit rot, an edit) is refused instead of
            silently giving other outputs. :func:`posekit.models.load_session` passes the
            sidecar's value.
        optimize: let onnxruntime optimise the graph at load (``ORT_ENABLE_ALL``). ``False``
            loads a file that onnxruntime already optimised and saved (posekit's runtime
            copies, :mod:`posekit.models.runtime`): faster to load, half the peak memory.
        model_bytes: the model itself, already in memory (``path`` then only names it).
        name: the model name used in messages (default: the file stem).

    Raises:
        ModelError: the file is missing (the message says how to install it), is not a
            loadable ONNX model, or does not have ``expected_sha256``.
        ProviderError: a requested provider is not available and ``allow_cpu_fallback`` is false.

    Example:
        >>> import numpy as np
        >>> from posekit.models import model_path
        >>> s = InferenceSession(model_path("pose_landmark_full"), num_threads=1)  # doctest: +SKIP
        >>> s.input_names, s.input_shapes["input_1"]  # doctest: +SKIP
        (['input_1'], (1, 256, 256, 3))
        >>> x = np.zeros((1, 256, 256, 3), np.float32)
        >>> (xyz,) = s.run_outputs(["Identity"], {"input_1": x})  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        num_threads: int | None = None,
        providers: Sequence[str] | None = None,
        allow_cpu_fallback: bool = False,
        spin: bool | None = None,
        expected_sha256: str | None = None,
        optimize: bool = True,
        model_bytes: bytes | None = None,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        #: Model name used in messages (the file stem unless given).
        self.name = name or self.path.stem
        if model_bytes is None and not self.path.is_file():
            raise ModelError(
                f"model file not found: {self.path}; install it with "
                f"`posekit models install {self.name}` (or posekit.models.install"
                f"([{self.name!r}]))"
            )
        if num_threads is None:
            num_threads = default_num_threads()
        self.num_threads = check_num_threads(num_threads)

        opts = ort.SessionOptions()
        opts.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if optimize
            else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        )
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = num_threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # One request at a time: the memory-pattern planner's up-front block for all
        # intermediate tensors costs 3-10 MB of RSS per session for no measurable speed-up
        # with onnxruntime's arena (pose_landmark_full 2.67 vs 2.65 ms).
        opts.enable_mem_pattern = False
        if _use_shared_arena(providers):
            # One arena for all of posekit's CPU sessions: the detector's and the landmark
            # model's intermediate tensors never live at the same time (5-6 MB less RSS).
            opts.add_session_config_entry("session.use_env_allocators", "1")
        if spin is not None:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
            opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spin else "0")

        # Spin while a run is in flight, stop when it returns: otherwise the idle worker keeps
        # busy-waiting while posekit crops and decodes between runs and takes the core they
        # need (pose_landmark_full tracking on 2 cores: 4.10 -> 3.73 ms per frame, crop 0.63 ->
        # 0.32 ms; benchmarks/profile_pipeline.py).
        opts.add_session_config_entry("session.force_spinning_stop", "1")
        chosen = self._choose_providers(providers, allow_cpu_fallback)
        model: str | bytes = str(self.path) if model_bytes is None else model_bytes
        if expected_sha256 is not None:
            if model_bytes is None:
                self._check_file(expected_sha256)
            else:
                import hashlib

                self._check_digest(hashlib.sha256(model_bytes).hexdigest(), expected_sha256)
        self.optimized_on_load = bool(optimize)
        try:
            self._session = ort.InferenceSession(model, sess_options=opts, providers=chosen)
        except _ORT_ERRORS as exc:
            raise ModelError(
                f"cannot load {self.path} with onnxruntime {ort.__version__}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}; "
                f"the file is corrupt or not an ONNX model: reinstall it with "
                f"`posekit models install --force {self.name}`"
            ) from exc
        self._check_active_providers(chosen, allow_cpu_fallback)
        _release_free_heap()

        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        self.input_names: list[str] = [i.name for i in inputs]
        self.output_names: list[str] = [o.name for o in outputs]
        self.input_shapes: dict[str, Shape] = {i.name: _shape(i.shape) for i in inputs}
        self.output_shapes: dict[str, Shape] = {o.name: _shape(o.shape) for o in outputs}
        self.input_dtypes: dict[str, np.dtype[Any]] = {
            i.name: _NP_DTYPES.get(i.type, np.dtype(np.float32)) for i in inputs
        }
        self._run = self._session.run

    def _check_file(self, expected_sha256: str) -> None:
        # Hashed in chunks and loaded by path: onnxruntime's Python wrapper keeps the bytes of
        # a model given as bytes for the session's lifetime (a second copy of every weight).
        import hashlib  # lazily: OpenSSL's libcrypto is ~3.5 MB of RSS

        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise ModelError(
                f"cannot read {self.path} ({exc.strerror or exc}); reinstall it with "
                f"`posekit models install --force {self.name}`"
            ) from exc
        self._check_digest(digest.hexdigest(), expected_sha256)

    def _check_digest(self, digest: str, expected_sha256: str) -> None:
        reinstall = f"reinstall it with `posekit models install --force {self.name}`"
        if digest != expected_sha256.lower():
            raise ModelError(
                f"{self.path} is damaged or was changed after install (sha256 {digest[:12]}…, "
                f"expected {expected_sha256[:12]}…); {reinstall}"
            )

    # -- providers -----------------------------------------------------------------------
    @staticmethod
    def _choose_providers(requested: Sequence[str] | None, allow_cpu_fallback: bool) -> list[str]:
        if isinstance(requested, str):
            requested = [requested]
        if not requested:
            return ["CPUExecutionProvider"]
        available = available_providers()
        chosen: list[str] = []
        for name in requested:
            full = resolve_provider(name)
            if full in available:
                if full not in chosen:
                    chosen.append(full)
                continue
            hint = _INSTALL_HINTS.get(full, "install an onnxruntime build that includes it")
            message = (
                f"execution provider {full} (requested as {name!r}) is not available in this "
                f"onnxruntime {ort.__version__}; available: {', '.join(available)}. "
                f"To get it: {hint}"
            )
            if not allow_cpu_fallback:
                raise ProviderError(message + "; or pass allow_cpu_fallback=True to use the CPU")
            logger.warning("%s; falling back to the CPU", message)
        if "CPUExecutionProvider" not in chosen:
            chosen.append("CPUExecutionProvider")
        return chosen

    def _check_active_providers(self, chosen: Sequence[str], allow_cpu_fallback: bool) -> None:
        """A provider can be 'available' yet fail to initialise (e.g. missing CUDA libraries)."""
        active = set(self._session.get_providers())
        for full in chosen:
            if full in active:
                continue
            message = (
                f"execution provider {full} is installed but failed to initialise for "
                f"{self.path.name} (active: {', '.join(sorted(active))}); check its runtime "
                f"libraries (for CUDA: matching CUDA and cuDNN versions)"
            )
            if not allow_cpu_fallback:
                raise ProviderError(message + "; or pass allow_cpu_fallback=True to use the CPU")
            logger.warning("%s; running on the CPU", message)

    @property
    def providers(self) -> list[str]:
        """Providers the session actually uses, in priority order."""
        return list(self._session.get_providers())

    # -- running -------------------------------------------------------------------------
    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on ``feeds`` (input name -> array); returns every output by name.

        Raises :class:`InputError` for a missing/unknown input or a wrong shape or dtype.

        Example:
            >>> out = sess.run({"input_1": frame})  # doctest: +SKIP
        """
        results = self.run_outputs(self.output_names, feeds)
        return dict(zip(self.output_names, results, strict=True))

    def run_outputs(
        self, output_names: Sequence[str] | None, feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        """Hot-path variant of :meth:`run`: the requested outputs as a list, no dict building.

        Inputs are validated only when onnxruntime rejects them, so a correct call costs nothing
        extra; a bad call still raises :class:`InputError` naming the problem.

        Example:
            >>> names = ["Identity", "Identity_1"]
            >>> lm, flag = sess.run_outputs(names, {"input_1": x})  # doctest: +SKIP
        """
        try:
            result: list[np.ndarray] = self._run(output_names, feeds)
        except _ORT_ERRORS as exc:
            problem = self.describe_feed_problem(feeds, output_names)
            if problem is not None:
                raise InputError(problem) from exc
            raise ModelError(
                f"onnxruntime failed running {self.path.name}: {str(exc).strip()}"
            ) from exc
        return result

    def describe_feed_problem(
        self, feeds: Mapping[str, Any], output_names: Sequence[str] | None = None
    ) -> str | None:
        """Why ``feeds`` do not fit this model (``None`` if they do)."""
        if not isinstance(feeds, Mapping):
            return f"feeds must map input names to numpy arrays, got {type(feeds).__name__}"
        missing = [n for n in self.input_names if n not in feeds]
        unknown = [n for n in feeds if n not in self.input_shapes]
        if missing or unknown:
            return (
                f"{self.path.name} takes inputs {self.input_names}; "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {unknown}" if unknown else "")
            )
        for name, value in feeds.items():
            want_dtype = self.input_dtypes[name]
            want_shape = self.input_shapes[name]
            if not isinstance(value, np.ndarray):
                return (
                    f"input {name!r} must be a numpy array of {want_dtype} with shape "
                    f"{_fmt(want_shape)}, got {type(value).__name__}"
                )
            if value.dtype != want_dtype:
                return (
                    f"input {name!r} must have dtype {want_dtype}, got {value.dtype}; "
                    f"convert it with .astype(np.{want_dtype})"
                )
            if len(value.shape) != len(want_shape) or any(
                w is not None and w != g for w, g in zip(want_shape, value.shape, strict=True)
            ):
                return (
                    f"input {name!r} must have shape {_fmt(want_shape)}, got "
                    f"{_fmt(tuple(value.shape))}"
                )
        if output_names is not None:
            bad = [n for n in output_names if n not in self.output_shapes]
            if bad:
                return f"unknown output(s) {bad}; {self.path.name} has {self.output_names}"
        return None

    def __repr__(self) -> str:
        return (
            f"InferenceSession({str(self.path)!r}, num_threads={self.num_threads}, "
            f"providers={self.providers})"
        )


_SHARED_ARENA: bool | None = None


def cpu_only(providers: Sequence[str] | str | None) -> bool:
    """True when ``providers`` (as :class:`InferenceSession` takes them) means the CPU only.

    Example:
        >>> cpu_only(None), cpu_only("cpu"), cpu_only(["cuda", "cpu"])
        (True, True, False)
    """
    if not providers:
        return True
    names = [providers] if isinstance(providers, str) else list(providers)
    return all(resolve_provider(p) == "CPUExecutionProvider" for p in names)


def _use_shared_arena(providers: Sequence[str] | str | None) -> bool:
    """Register (once) a process-wide CPU arena for sessions on the CPU provider only."""
    global _SHARED_ARENA
    if not cpu_only(providers):
        return False
    if _SHARED_ARENA is None:
        try:
            mem = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # max memory 0 (no cap), extend strategy 0 (next power of two), defaults after.
            ort.create_and_register_allocator(mem, ort.OrtArenaCfg(0, 0, -1, -1))
            _SHARED_ARENA = True
        except _ORT_ERRORS as exc:  # an allocator registered by the application already
            logger.debug("shared CPU arena not registered (%s); using per-session arenas", exc)
            _SHARED_ARENA = "already registered" in str(exc).lower()
    return _SHARED_ARENA


def _release_free_heap() -> None:
    """Give the heap pages freed while building a session back to the OS (glibc only).

    Parsing and optimising a model allocates and frees tens of MB; glibc keeps those pages
    mapped, so without this the process carries them for its whole life (the heavy tracker's
    RSS: 219 MB without, 207 MB with). Elsewhere this does nothing.
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        _MALLOC_TRIM = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                _MALLOC_TRIM = ctypes.CDLL(None).malloc_trim
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM: Any = None


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
