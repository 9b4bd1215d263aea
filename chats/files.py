"""What an upload really is, read from its bytes, and the copy of it that is safe to store.

The client's file name and Content-Type are never trusted. Pillow decides whether a file is one
of the images we show (PNG, JPEG, GIF, WebP): those are decoded and encoded again, which leaves
their metadata behind (EXIF above all, with the place a photo was taken), and get a thumbnail.
Anything else is stored as it came, typed by puremagic from its first bytes, and is only ever
served as a download (chats/api/attachments.py). An image's size is checked from its header before
any pixel is decoded, so a decompression bomb is refused with memory flat.
"""

import os
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO

import puremagic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from chats.models import ATTACHMENT_NAME_MAX

# Pillow's format name -> what we store and serve it as.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
THUMBNAIL_BOX = (320, 320)
THUMBNAIL_TYPE = "image/webp"
UNKNOWN_TYPE = "application/octet-stream"
# Re-encoded images above this many bytes spill from memory to a temporary file.
SPOOL_BYTES = 1024 * 1024


class Unusable(ValueError):
    """The upload cannot be stored; the message says why, for the client."""


@dataclass
class Prepared:
    """An upload as it will be stored."""

    name: str
    content_type: str
    body: IO[bytes]
    size: int
    width: int | None = None
    height: int | None = None
    thumbnail: IO[bytes] | None = None


def prepare(upload: UploadedFile) -> Prepared:
    name = clean_name(upload.name or "")
    upload.seek(0)
    try:
        with warnings.catch_warnings():  # Pillow's own bomb warning: ours is the check below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=list(IMAGE_TYPES))
    except UnidentifiedImageError:
        return Prepared(name, _sniffed_type(upload), upload, upload.size or 0)
    except (OSError, Image.DecompressionBombError) as error:
        raise Unusable("The image is damaged or too large.") from error
    with image:
        return _image_prepared(name, image)


def clean_name(raw: str) -> str:
    """The client's file name as we show it: no directories, no control characters."""
    base = os.path.basename(raw.replace("\\", "/"))
    printable = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return printable[-ATTACHMENT_NAME_MAX:] or "file"


def _sniffed_type(upload: UploadedFile) -> str:
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return UNKNOWN_TYPE
    types = [match.mime_type for match in matches if match.mime_type]
    return types[0] if types else UNKNOWN_TYPE


def _image_prepared(name: str, image: Image.Image) -> Prepared:
    image_format = image.format or ""
    width, height = image.size
    frames = getattr(image, "n_frames", 1)
    if width * height * frames > settings.ATTACHMENT_IMAGE_MAX_PIXELS:
        raise Unusable(
            f"The image has more than {settings.ATTACHMENT_IMAGE_MAX_PIXELS} pixels in all."
        )
    try:
        image.load()
        # A photo turned by its EXIF orientation is stored upright, as it was meant to be seen.
        upright = image if frames > 1 else ImageOps.exif_transpose(image)
        body = _reencoded(upright, image_format, animated=frames > 1)
        thumbnail = _thumbnail(upright)
    except (OSError, SyntaxError, ValueError) as error:  # Pillow's words for a broken file
        raise Unusable("The image is damaged or truncated.") from error
    return Prepared(
        name,
        IMAGE_TYPES[image_format],
        body,
        _size(body),
        width=upright.width,
        height=upright.height,
        thumbnail=thumbnail,
    )


def _reencoded(image: Image.Image, image_format: str, *, animated: bool) -> IO[bytes]:
    """The pixels alone, with the colour profile: no EXIF, XMP, comments or text chunks."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    options: dict[str, object] = {}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc
    if animated:
        options.update(save_all=True, loop=image.info.get("loop", 0))
        if "duration" in image.info:
            options["duration"] = image.info["duration"]
    elif image_format == "JPEG":
        options["quality"] = 90
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
    image.save(out, format=image_format, **options)
    out.seek(0)
    return out


def _thumbnail(image: Image.Image) -> IO[bytes]:
    image.seek(0)
    small = image.copy()
    small.thumbnail(THUMBNAIL_BOX)
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA")
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    small.save(out, format="WEBP", quality=80)
    out.seek(0)
    return out


def _size(body: IO[bytes]) -> int:
    body.seek(0, os.SEEK_END)
    size = body.tell()
    body.seek(0)
    return size
