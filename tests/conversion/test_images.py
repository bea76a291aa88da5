"""The images converter: every advertised pair on real Pillow-made samples, the options, and the bombs it refuses."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from anclora.errors import AncloraError, ConversionFailed, UnsupportedMediaType
from anclora.sniff import sniff
from media_samples import bundled_converters, gif_with_frames, image_sample, png_claiming

pillow_heif.register_heif_opener()
CONVERTER = bundled_converters()["images"]
PAIRS = sorted(CONVERTER.pairs())


def opened(path: Path) -> Image.Image:
    """The decoded image at `path`, with the file closed again (frame count kept in `n_frames`)."""
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1)
        image.load()
        copy = image.copy()
    copy.n_frames = frames
    copy.exif = image.getexif()
    return copy


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("image-samples")
    return {fmt: image_sample(folder / f"sample.{fmt}", fmt) for fmt in CONVERTER.sources}


def test_advertises_every_raster_format_and_pdf():
    assert set(CONVERTER.sources) == {"png", "jpeg", "webp", "gif", "bmp", "tiff", "ico", "avif", "heic"}
    assert set(CONVERTER.targets) == set(CONVERTER.sources) | {"pdf"}
    assert CONVERTER.availability().available


@pytest.mark.parametrize("source,target", PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
async def test_every_pair_converts(convert_file, samples, source, target):
    out = await convert_file(CONVERTER, samples[source], target)
    assert sniff(out) == target
    if target != "pdf":
        with Image.open(out) as image:
            assert image.size == (64, 48)
            red = image.convert("RGB").getpixel((5, 5))
            assert red[0] > 200 and red[2] < 60  # the left half stays red through every codec


async def test_resize_contain_cover_fill(convert_file, samples):
    for fit, size in (("contain", (32, 24)), ("cover", (32, 32)), ("fill", (32, 32))):
        out = await convert_file(CONVERTER, samples["png"], "webp", {"width": 32, "height": 32, "fit": fit})
        assert opened(out).size == size, fit
    out = await convert_file(CONVERTER, samples["png"], "png", {"width": 16})
    assert opened(out).size == (16, 12)


async def test_alpha_to_jpeg_uses_the_background(convert_file, samples):
    out = await convert_file(CONVERTER, samples["png"], "jpeg", {"background": "#00ff00"})
    # the right half is 50% blue over the background: green shows through
    red, green, blue = opened(out).convert("RGB").getpixel((60, 5))
    assert green > 100 and blue > 100 and red < 40


async def test_quality_changes_the_size(convert_file, tmp_path):
    photo = tmp_path / "noise.png"
    Image.effect_noise((256, 256), 64).convert("RGB").save(photo)
    small = await convert_file(CONVERTER, photo, "jpeg", {"quality": 10})
    large = await convert_file(CONVERTER, photo, "jpeg", {"quality": 95})
    assert small.stat().st_size * 2 < large.stat().st_size


async def test_metadata_is_stripped_unless_asked_to_keep_it(convert_file, tmp_path):
    tagged = tmp_path / "tagged.jpeg"
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    Image.new("RGB", (40, 30), "white").save(tagged, exif=exif)
    stripped = await convert_file(CONVERTER, tagged, "jpeg")
    kept = await convert_file(CONVERTER, tagged, "jpeg", {"strip_metadata": False})
    assert b"SecretCam" not in stripped.read_bytes()
    assert opened(kept).exif.get(0x010F) == "SecretCam"


async def test_exif_orientation_is_applied_before_stripping(convert_file, tmp_path):
    rotated = tmp_path / "rotated.jpeg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.new("RGB", (40, 20), "white").save(rotated, exif=exif)
    out = await convert_file(CONVERTER, rotated, "png")
    assert opened(out).size == (20, 40)


async def test_animation_is_kept_between_animated_formats(convert_file, tmp_path):
    animated = tmp_path / "animated.gif"
    frames = [Image.new("RGB", (20, 20), color) for color in ("red", "green", "blue")]
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = await convert_file(CONVERTER, animated, "webp")
    assert opened(out).n_frames == 3
    first_only = await convert_file(CONVERTER, animated, "png")
    assert opened(first_only).n_frames == 1


async def test_the_type_comes_from_the_bytes_not_the_name(convert_file, samples, tmp_path):
    disguised = tmp_path / "photo.png"
    disguised.write_bytes(samples["jpeg"].read_bytes())
    out = await convert_file(CONVERTER, disguised, "webp")
    assert sniff(out) == "webp"


async def test_avif_with_a_generic_heif_brand_is_read_as_avif(convert_file, samples, tmp_path):
    data = samples["avif"].read_bytes()
    generic = tmp_path / "generic.avif"
    generic.write_bytes(data[:8] + b"mif1" + data[12:])  # major brand mif1, "avif" among the compatible ones
    assert sniff(generic) == "avif"
    assert opened(await convert_file(CONVERTER, generic, "png")).size == (64, 48)


# -- what it refuses --------------------------------------------------------------------------------------------

async def refused(convert_file, src: Path, target: str = "png", converter=CONVERTER) -> AncloraError:
    started = time.monotonic()
    with pytest.raises(AncloraError) as caught:
        await convert_file(converter, src, target)
    assert time.monotonic() - started < 30, "refusals are quick"
    assert caught.value.status in (415, 422)
    return caught.value


async def test_pixel_bomb_header_is_refused(convert_file, tmp_path):
    error = await refused(convert_file, png_claiming(tmp_path / "bomb.png", 100_000, 100_000))
    assert isinstance(error, ConversionFailed)
    assert "megapixels" in error.message


async def test_just_over_the_pixel_cap_is_refused(convert_file, tmp_path):
    # Between 1x and 2x Pillow's limit it only warns: our cap must still hold.
    error = await refused(convert_file, png_claiming(tmp_path / "big.png", 8000, 7000))
    assert "megapixels" in error.message


async def test_frame_bomb_is_refused(convert_file, tmp_path):
    error = await refused(convert_file, gif_with_frames(tmp_path / "frames.gif", 10_000), "webp")
    assert "more than 100 frames" in error.message


async def test_a_gif_within_the_frame_cap_converts(convert_file, tmp_path):
    out = await convert_file(CONVERTER, gif_with_frames(tmp_path / "few.gif", 50), "webp")
    assert sniff(out) == "webp"


SVG = b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' \
      b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n(/etc/passwd) (r) file\nshowpage\n"
BINARY_EPS = b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + EPS


@pytest.mark.parametrize("payload", [SVG, EPS, BINARY_EPS], ids=["svg", "eps", "binary-eps"])
async def test_vector_formats_renamed_png_are_refused(convert_file, tmp_path, payload):
    disguised = tmp_path / "innocent.png"
    disguised.write_bytes(payload)
    error = await refused(convert_file, disguised)
    assert isinstance(error, UnsupportedMediaType)


async def test_a_zip_renamed_png_is_refused(convert_file, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "x")
    disguised = tmp_path / "archive.png"
    disguised.write_bytes(buffer.getvalue())
    assert isinstance(await refused(convert_file, disguised), UnsupportedMediaType)


async def test_truncated_image_fails_cleanly(convert_file, samples, tmp_path):
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(samples["png"].read_bytes()[:60])
    error = await refused(convert_file, truncated, "jpeg")
    assert isinstance(error, ConversionFailed)
    assert "/" not in error.message  # no paths from the engine's traceback


async def test_a_large_image_under_the_cap_fits_the_worker_limits(convert_file, tmp_path):
    # 49 megapixels decode for real inside the worker's memory and CPU limits.
    big = tmp_path / "big.png"
    Image.new("L", (7000, 7000)).save(big, optimize=False)
    out = await convert_file(CONVERTER, big, "png", {"width": 100})
    assert opened(out).size == (100, 100)


async def test_running_out_of_worker_memory_is_one_failed_conversion(convert_file, tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGBA", (5000, 5000)).save(big, compress_level=1)  # 100 MB once decoded, and a copy
    frugal = type(CONVERTER)()
    frugal.memory_bytes = 150 * 1024**2
    error = await refused(convert_file, big, "webp", frugal)
    assert isinstance(error, ConversionFailed) and "needs more memory than allowed" in error.message
    small = await convert_file(frugal, image_sample(tmp_path / "small.png", "png"), "webp")
    assert sniff(small) == "webp"  # the same limit leaves room for ordinary pictures


# -- through the HTTP API ---------------------------------------------------------------------------------------

@pytest.fixture
def anclora_overrides():
    return {"plugins_block": ["office", "markup", "pdf"]}


async def test_one_shot_conversion_over_http(client, samples, tmp_path):
    response = await client.post("/api/convert?to=webp&filename=photo.png&width=32",
                                 content=samples["png"].read_bytes())
    assert response.status_code == 200, response.text
    out = tmp_path / "out.webp"
    out.write_bytes(response.content)
    assert sniff(out) == "webp" and opened(out).size == (32, 24)


async def test_pixel_bomb_over_http_is_a_json_422(client, tmp_path):
    bomb = png_claiming(tmp_path / "bomb.png", 100_000, 100_000).read_bytes()
    response = await client.post("/api/convert?to=jpeg&filename=bomb.png", content=bomb)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "conversion_failed"
    assert (await client.get("/api/health")).json()["status"] in ("up", "degraded")
