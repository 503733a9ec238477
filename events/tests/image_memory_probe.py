"""Runs image uploads through the event form in processes of their own and prints their peak
memory, for test_image_memory.py.

    python -m events.tests.image_memory_probe FOLDER FILE*AT_ONCE [FILE*AT_ONCE ...]

Django is set up once; the images are generated into FOLDER (when it is empty) and each case
is measured in a forked child, so every peak is that of its uploads alone and no case pays
for Django's start-up again.
"""

import io
import json
import math
import os
import sys
import threading
import traceback
from functools import partial
from pathlib import Path

import django

MAX_SIDE = 6300  # the files: 6300×6300 is just under the 40-megapixel limit


def main() -> None:
    django.setup()
    folder, *cases = sys.argv[1:]
    upload_through_form("warm-up.png", small_png())  # imports and codecs are not the uploads
    if not any(Path(folder).iterdir()):
        in_child(lambda: generate(Path(folder)))
    report = {}
    for case in cases:
        name, at_once = case.split("*")
        report[case] = json.loads(
            in_child(partial(measure_as_json, int(at_once), [Path(folder) / name]))
        )
    print(json.dumps(report))


def in_child(work) -> str:
    """Run work() in a forked child and return what it returned, as text."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reading)
        status = 1
        try:
            os.write(writing, (work() or "").encode())
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        output = pipe.read()
    _, status = os.waitpid(child, 0)
    if status != 0:
        raise RuntimeError(f"probe child ended with status {status}")
    return output


def generate(folder: Path) -> None:
    """The issue's small files that decode large, and the largest the bound accepts."""
    from PIL import Image, ImageDraw

    def poster(mode: str, side: int, colour) -> Image.Image:
        image = Image.new(mode, (side, side), colour)
        ImageDraw.Draw(image).rectangle((side // 4, side // 4, side // 2, side // 2), fill=0)
        return image

    poster("RGBA", MAX_SIDE, (200, 30, 30, 128)).save(folder / "rgba-6300.png")
    poster("1", MAX_SIDE, 1).save(folder / "bilevel-6300.png")
    poster("RGB", MAX_SIDE, (20, 90, 200)).save(folder / "photo-6300.jpg", quality=90)
    poster("RGB", MAX_SIDE, (20, 90, 200)).save(
        folder / "progressive-6300.jpg", quality=90, progressive=True
    )
    poster("RGBA", largest_accepted_side("RGBA"), (200, 30, 30, 128)).save(
        folder / "rgba-largest.png"
    )
    poster("RGB", largest_accepted_side("RGB"), (20, 90, 200)).save(folder / "rgb-largest.png")
    poster("RGBA", largest_accepted_side("RGBA", webp=True), (200, 30, 30, 128)).save(
        folder / "rgba-largest.webp", lossless=True
    )


def largest_accepted_side(mode: str, *, webp: bool = False) -> int:
    """The side of the largest square image of this mode that the decoding bound accepts."""
    from django.conf import settings

    from events.images import _WEBP_DECODER_BYTES_PER_PIXEL, processing_bytes

    def fits(side: int) -> bool:
        needed = processing_bytes(
            mode=mode,
            size=(side, side),
            transparent=mode == "RGBA",
            decoder_bytes=side * side * _WEBP_DECODER_BYTES_PER_PIXEL if webp else 0,
        )
        return needed <= settings.IMAGE_MAX_DECODING_BYTES

    accepted, refused = 1, math.isqrt(settings.IMAGE_MAX_PIXELS) + 1
    while refused - accepted > 1:
        side = (accepted + refused) // 2
        accepted, refused = (side, refused) if fits(side) else (accepted, side)
    return accepted


def measure_as_json(threads: int, paths: list[Path]) -> str:
    return json.dumps(measure(threads, paths))


def measure(threads: int, paths: list[Path]) -> dict:
    """Upload each file through the event form (threads at once), return the peak memory above
    the baseline in bytes and each upload's outcome."""
    uploads = [(path.name, path.read_bytes()) for path in paths]
    baseline = kilobytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from VmRSS
    outcomes: dict[str, str] = {}

    def upload(index: int, name: str, contents: bytes) -> None:
        outcomes[f"{index}:{name}"] = upload_through_form(name, contents)

    workers = [
        threading.Thread(target=upload, args=(index, name, contents))
        for index in range(threads)
        for name, contents in uploads
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {
        "extra_bytes": (kilobytes("VmHWM") - baseline) * 1024,
        "outcomes": outcomes,
    }


def upload_through_form(name: str, contents: bytes) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from events.forms import EventForm

    form = EventForm(data={}, files={"image": SimpleUploadedFile(name, contents)})
    form.is_valid()
    return " ".join(form.errors.get("image", [])) or "accepted"


def small_png() -> bytes:
    from PIL import Image

    encoded = io.BytesIO()
    Image.new("RGBA", (64, 64), (1, 2, 3, 4)).save(encoded, format="PNG")
    return encoded.getvalue()


def kilobytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


if __name__ == "__main__":
    main()
