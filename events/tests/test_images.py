import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, PngImagePlugin

from events.images import _processing_slots, reencode_event_image
from events.models import Event


def upload(data: bytes, name="poster.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def encoded(image: Image.Image, fmt: str, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def test_a_photo_is_reencoded_without_its_exif_and_upright():
    photo = Image.new("RGB", (400, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SpyCam"  # Make
    result = reencode_event_image(upload(encoded(photo, "JPEG", exif=exif.tobytes())))

    stored = Image.open(io.BytesIO(result.read()))
    assert stored.format == "JPEG"
    assert stored.size == (200, 400)
    assert not stored.getexif()
    assert result.name.endswith(".jpg") and "poster" not in result.name


def test_large_images_are_scaled_down(settings):
    big = Image.new("RGB", (4000, 1000), "white")
    result = reencode_event_image(upload(encoded(big, "PNG"), "big.png"))
    assert Image.open(io.BytesIO(result.read())).size == (settings.IMAGE_STORED_MAX_SIDE, 400)


def test_transparent_png_is_flattened():
    logo = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    result = reencode_event_image(upload(encoded(logo, "PNG"), "logo.png"))
    assert Image.open(io.BytesIO(result.read())).getpixel((1, 1)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image we can read"),
        (b"GIF89a" + b"\0" * 10, "not an image|damaged"),
        (encoded(Image.new("RGB", (300, 300)), "JPEG")[:200], "damaged"),
        (encoded(Image.new("RGB", (10, 10)), "BMP"), "JPEG, PNG, WebP or GIF"),
        (b"", "not an image we can read"),
    ],
)
def test_files_that_are_not_usable_images_are_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        reencode_event_image(upload(data))


def test_files_over_five_megabytes_are_refused(settings):
    noise = upload(b"\xff\xd8" + b"\0" * (settings.IMAGE_MAX_BYTES + 1))
    with pytest.raises(ValidationError, match="larger than 5 MB"):
        reencode_event_image(noise)


def test_a_decompression_bomb_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    wide = encoded(Image.new("1", (5000, 5000)), "PNG")  # small file, 25 megapixels
    with pytest.raises(ValidationError, match="too large"):
        reencode_event_image(upload(wide, "wide.png"))


def test_an_image_that_would_decode_beyond_the_memory_bound_is_refused_from_its_header(settings):
    settings.IMAGE_MAX_DECODING_BYTES = 4 * 1024 * 1024
    transparent = encoded(Image.new("RGBA", (1000, 1000), (0, 0, 0, 0)), "PNG")  # 4 KB file

    with pytest.raises(ValidationError, match=r"too large to process: 1\.0 megapixels"):
        reencode_event_image(upload(transparent, "poster.png"))
    opaque = encoded(Image.new("RGB", (600, 600), "white"), "PNG")
    assert reencode_event_image(upload(opaque, "poster.png"))


def test_a_bilevel_image_counts_as_the_grey_it_is_scaled_in(settings):
    bilevel = Image.new("1", (2000, 2000), 1)
    settings.IMAGE_MAX_DECODING_BYTES = 2000 * 2000 * 2 - 1  # the 1-bit image and its grey copy
    with pytest.raises(ValidationError, match="too large to process"):
        reencode_event_image(upload(encoded(bilevel, "PNG"), "bilevel.png"))


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(settings):
    photo = encoded(Image.new("RGB", (4000, 3000), (10, 120, 200)), "JPEG")
    # At full size its pixels alone are 48 MB; libjpeg decodes it at half scale (12 MB).
    settings.IMAGE_MAX_DECODING_BYTES = 40 * 1000 * 1000
    result = reencode_event_image(upload(photo))
    assert Image.open(io.BytesIO(result.read())).size == (1600, 1200)


def test_a_progressive_jpeg_counts_the_coefficients_it_buffers(settings):
    settings.IMAGE_MAX_DECODING_BYTES = 40 * 1000 * 1000
    image = Image.new("RGB", (4000, 3000), (10, 120, 200))
    # 4:4:4, so 6 bytes a pixel of coefficients at full resolution: 72 MB.
    progressive = encoded(image, "JPEG", progressive=True, subsampling=0)
    with pytest.raises(ValidationError, match="too large to process"):
        reencode_event_image(upload(progressive))


def test_a_webp_canvas_is_checked_before_the_decoder_allocates_it(settings, monkeypatch):
    settings.IMAGE_MAX_DECODING_BYTES = 4 * 1024 * 1024
    webp = encoded(Image.new("RGB", (1000, 1000), "white"), "WEBP")

    def opening_is_too_late(*args, **kwargs):
        raise AssertionError("the WebP decoder was created")

    monkeypatch.setattr(Image, "open", opening_is_too_late)
    with pytest.raises(ValidationError, match="too large to process"):
        reencode_event_image(upload(webp, "poster.webp"))


def test_pillows_decompression_bomb_check_is_a_form_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    for side in (150, 250):  # past the warning, then past the error (twice the limit)
        with pytest.raises(ValidationError, match="too large to process"):
            reencode_event_image(upload(encoded(Image.new("RGB", (side, side)), "PNG")))


def test_png_text_that_decompresses_large_is_refused():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "x" * 512 * 1024, zip=True)  # 512 KB of text in a 1 KB chunk
    image = encoded(Image.new("RGB", (10, 10)), "PNG", pnginfo=text)
    with pytest.raises(ValidationError, match="damaged"):
        reencode_event_image(upload(image, "poster.png"))


def test_an_animated_gif_is_stored_as_its_first_frame():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "green", "blue")]
    animated = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    result = reencode_event_image(upload(animated, "poster.gif"))
    red, green, blue = Image.open(io.BytesIO(result.read())).getpixel((20, 20))
    assert red > 200 and green < 50 and blue < 50


def test_a_transparent_palette_image_is_flattened_onto_white():
    palette = Image.new("P", (30, 30), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.paste(1, (0, 0, 15, 30))
    image = encoded(palette, "PNG", transparency=0)
    stored = Image.open(io.BytesIO(reencode_event_image(upload(image, "p.png")).read()))
    assert stored.getpixel((25, 15)) == (255, 255, 255)
    assert stored.getpixel((5, 15))[2] > 200


@pytest.mark.django_db
def test_an_upload_waiting_too_long_for_a_processing_slot_gets_a_503(client, organiser, settings):
    settings.IMAGE_PROCESSING_CONCURRENCY = 1
    settings.IMAGE_PROCESSING_WAIT_SECONDS = 1
    client.force_login(organiser)
    poster = upload(encoded(Image.new("RGB", (100, 100)), "PNG"), "poster.png")
    slots = _processing_slots(1)
    slots.acquire()  # another upload is being processed
    try:
        response = client.post(reverse("event_create"), {"name": "Gig", "image": poster})
    finally:
        slots.release()

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "try again" in response.content.decode()
    assert not Event.objects.exists()


def test_a_phone_photo_with_a_depth_or_preview_frame_is_taken_as_its_first_jpeg():
    # Many phones save JPEGs with a second picture (MPO): Pillow names them "MPO", not "JPEG".
    photo = Image.new("RGB", (4000, 3000), (10, 120, 200))
    preview = Image.new("RGB", (400, 300), (200, 10, 10))
    result = reencode_event_image(
        upload(encoded(photo, "MPO", save_all=True, append_images=[preview]))
    )
    stored = Image.open(io.BytesIO(result.read()))
    assert stored.size == (1600, 1200)
    assert stored.getpixel((10, 10)) == pytest.approx((10, 120, 200), abs=8)
