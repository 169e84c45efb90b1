#!/usr/bin/env bash
# Create the side-by-side benchmark environment: posekit + MediaPipe 0.10.21 (legacy
# mp.solutions.pose API) in ONE virtual environment, fully offline at run time.
#
#   benchmarks/setup_bench_env.sh            # creates <repo>/.venv-bench
#   VENV=/some/where benchmarks/setup_bench_env.sh
#
# Why the care:
#  * mediapipe==0.10.21 pins numpy<2 and pulls opencv-contrib-python; posekit depends on
#    opencv-python-headless. Both wheels install the same `cv2` package, so installing both makes
#    one silently overwrite the other. posekit is therefore installed with --no-deps and its other
#    dependencies explicitly, leaving mediapipe's opencv-contrib-python as the only cv2.
#  * the wheel ships only the "full" landmark model; the legacy solution downloads lite/heavy from
#    storage.googleapis.com at run time (unreachable offline). We copy the official files, after
#    checking their sha256 against the pinned values, into mediapipe/modules/pose_landmark/.
#    They are looked up in $MODELS_SRC, ../shared/models-src beside the repo, then posekit's
#    source cache (~/.cache/posekit/sources, filled by `posekit models install`).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv-bench}"
PYTHON="${PYTHON:-python3}"
# folders searched for the official .tflite files, in order: $MODELS_SRC, the shared source
# folder beside the checkout, posekit's own source cache ($POSEKIT_HOME or ~/.cache/posekit)
CANDIDATES=()
[[ -n "${MODELS_SRC:-}" ]] && CANDIDATES+=("$MODELS_SRC")
CANDIDATES+=("$REPO/../shared/models-src" "${POSEKIT_HOME:-$HOME/.cache/posekit}/sources")

# sha256 pinned by MediaPipe's own build (third_party/external_files.bzl); see PROVENANCE.md
declare -A SHA256=(
  [pose_landmark_lite.tflite]=f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61
  [pose_landmark_full.tflite]=e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f
  [pose_landmark_heavy.tflite]=59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe
)

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
# mediapipe 0.10.21 needs numpy<2 and protobuf 4.x; onnx/onnxruntime would otherwise pull
# protobuf 5+ and break `import mediapipe` (MessageFactory.GetPrototype was removed).
printf 'numpy<2\nprotobuf>=4.25.3,<5\n' >"$CONSTRAINTS"

# 1. MediaPipe with its own dependencies (numpy<2, opencv-contrib-python, protobuf<5, ...)
"${PIP[@]}" install -c "$CONSTRAINTS" "mediapipe==0.10.21"

# 2. posekit's runtime dependencies except opencv-python-headless (cv2 comes from step 1)
"${PIP[@]}" install -c "$CONSTRAINTS" --upgrade-strategy only-if-needed \
  "scipy>=1.10" "onnxruntime>=1.17" "pydantic>=2.5" "onnx>=1.15" "flatbuffers>=23.5" "tflite>=2.10"

# 3. posekit itself, without dependencies. A .pth file (editable-style) so the benchmark always
#    runs the working tree; `pip install --no-deps -e .` works as well once the wheel builds.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$REPO" >"$SITE/posekit_worktree.pth"

# 4. offline landmark models for model_complexity 0/1/2
DEST="$SITE/mediapipe/modules/pose_landmark"
for name in "${!SHA256[@]}"; do
  want="${SHA256[$name]}"
  if [[ -f "$DEST/$name" ]] && [[ "$(sha256sum "$DEST/$name" | cut -d' ' -f1)" == "$want" ]]; then
    continue
  fi
  found=""
  for dir in "${CANDIDATES[@]}"; do
    src="$dir/$name"
    [[ -f "$src" ]] || continue
    got="$(sha256sum "$src" | cut -d' ' -f1)"
    if [[ "$got" == "$want" ]]; then
      found="$src"
      break
    fi
    echo "warning: $src has sha256 $got, expected $want: skipped" >&2
  done
  if [[ -z "$found" ]]; then
    echo "error: no official $name (sha256 $want) in: ${CANDIDATES[*]}." >&2
    echo "       Set MODELS_SRC to a folder holding it, or run 'posekit models install all'." >&2
    exit 1
  fi
  install -m 0644 "$found" "$DEST/$name"
  echo "installed $name from $found"
done

# 5. checks: one cv2 (contrib), numpy<2, onnxruntime imports, posekit importable, models present
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import cv2, numpy, onnx, onnxruntime, posekit
import mediapipe as mp
mp.solutions.pose.Pose  # noqa: B018  (legacy API present)
mediapipe = mp
from pathlib import Path
dists = {d.metadata["Name"].lower() for d in md.distributions()}
cv = sorted(d for d in dists if d.startswith("opencv"))
assert cv == ["opencv-contrib-python"], f"expected only opencv-contrib-python, found {cv}"
assert int(numpy.__version__.split(".")[0]) < 2, numpy.__version__
onnxruntime.InferenceSession  # noqa: B018
mods = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
missing = [m for m in ("lite", "full", "heavy") if not (mods / f"pose_landmark_{m}.tflite").is_file()]
assert not missing, missing
print(f"ok: mediapipe {mediapipe.__version__}, numpy {numpy.__version__}, cv2 {cv2.__version__} "
      f"({cv[0]}), onnxruntime {onnxruntime.__version__}, posekit from {Path(posekit.__file__).parent}")
PY
