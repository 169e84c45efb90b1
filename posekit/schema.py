"""The JSON form of a :class:`posekit.pose.Pose`: a pydantic v2 model and its JSON Schema.

A pose is stored column-wise (one list per array, keypoints in :class:`posekit.topology.Keypoint`
order), which keeps a frame's JSON small and cheap to write::

    {"schema_version": 1, "score": 0.98, "image_size": [640, 480],
     "xy": [[x, y], ... 33], "z": [... 33], "visibility": [... 33], "presence": [... 33],
     "world": [[x, y, z], ... 33] or null}

Writing never goes through this model (``Pose.to_json`` dumps ``ndarray.tolist()`` directly);
reading validates with it.

Example:
    >>> from posekit.schema import PoseModel, pose_json_schema
    >>> pose_json_schema()["properties"]["schema_version"]["const"]
    1
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, Strict

from posekit.errors import InputError
from posekit.topology import NUM_KEYPOINTS

__all__ = ["FLOAT32_MAX", "SCHEMA_VERSION", "PoseModel", "parse_json", "pose_json_schema"]

SCHEMA_VERSION: Literal[1] = 1
"""Version of the JSON layout written by ``Pose.to_json``; bumped on incompatible changes."""

FLOAT32_MAX: float = 3.4028234663852886e38
"""Largest finite float32; coordinates beyond it cannot be stored in a Pose."""

# Strict: numbers must be JSON numbers (no "1.0" strings, no booleans), as the schema says.
_Finite = Annotated[float, Strict(), Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX, allow_inf_nan=False)]
_Unit = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
_Pixels = Annotated[int, Strict(), Field(gt=0)]
_PerKeypoint = Field(min_length=NUM_KEYPOINTS, max_length=NUM_KEYPOINTS)


_DESCRIPTION = (
    "One body pose tracked by posekit (BlazePose, 33 keypoints). Per-keypoint lists are in "
    "keypoint index order: nose, left_eye_inner, left_eye, ..., right_foot_index; see "
    "posekit.topology.KEYPOINT_NAMES. Numbers are float32 values."
)


class PoseModel(BaseModel):
    """Validated JSON form of a pose (see the module docstring for the layout).

    Example:
        >>> m = PoseModel(score=1.0, xy=[[0.0, 0.0]] * 33, z=[0.0] * 33,
        ...               visibility=[1.0] * 33, presence=[1.0] * 33)
        >>> m.world is None and m.image_size is None
        True
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="posekit Pose",
        json_schema_extra={"description": _DESCRIPTION},
    )

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="Layout version; 1 is the only one so far."
    )
    score: _Unit = Field(description="Overall pose presence score in [0, 1].")
    image_size: tuple[_Pixels, _Pixels] | None = Field(
        default=None, description="(width, height) in pixels of the frame `xy` refers to."
    )
    xy: Annotated[list[tuple[_Finite, _Finite]], _PerKeypoint] = Field(
        description="Pixel coordinates [x, y] of the 33 keypoints."
    )
    z: Annotated[list[_Finite], _PerKeypoint] = Field(
        description="Depth of each keypoint, same scale as x, smaller is nearer the camera "
        "(MediaPipe convention, origin at the hips)."
    )
    visibility: Annotated[list[_Unit], _PerKeypoint] = Field(
        description="Probability that each keypoint is visible (not occluded), in [0, 1]."
    )
    presence: Annotated[list[_Unit], _PerKeypoint] = Field(
        description="Probability that each keypoint is inside the frame, in [0, 1]."
    )
    world: Annotated[list[tuple[_Finite, _Finite, _Finite]], _PerKeypoint] | None = Field(
        default=None, description="Metric 3-D keypoints [x, y, z] in metres, origin at the hips."
    )


def pose_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12, as pydantic writes it) of a pose's JSON form.

    Example:
        >>> sorted(pose_json_schema()["required"])
        ['presence', 'score', 'visibility', 'xy', 'z']
    """
    schema = PoseModel.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str | bytes, where: str, *, what: str = "posekit JSON") -> Any:
    """Parse one JSON document from a file a user was handed, as posekit's readers do.

    Unlike :func:`json.loads` it refuses ``NaN`` / ``Infinity`` (not JSON, and no posekit
    schema allows them) and turns every failure into an
    :class:`~posekit.errors.InputError` naming ``where`` and ``what`` was expected, including
    nesting deeper than Python's parser can follow (a ``RecursionError`` from a document nested
    thousands of levels deep: no posekit document nests more than a few levels).

    >>> parse_json('{"a": [1, 2]}', "x.json")
    {'a': [1, 2]}
    """
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InputError(
            f"{where} is JSON nested too deeply for the parser: it is not {what} (posekit "
            "files nest only a few levels)"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text ({exc}): it is not {what}") from exc
    except ValueError as exc:  # json.JSONDecodeError and the NaN / Infinity refusal
        raise InputError(f"{where} is not valid JSON ({exc}): it is not {what}") from exc
