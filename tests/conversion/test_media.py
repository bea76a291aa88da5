"""The video and audio converters: every advertised pair on lavfi-made samples, the options, progress, the caps,
and playlists or concat scripts disguised as media."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from anclora.conversion.converter import ConversionContext
from anclora.conversion.registry import engine_status
from anclora.errors import AncloraError, ConversionFailed, ServiceUnavailable, UnsupportedMediaType
from anclora.sniff import sniff
from media_samples import audio_sample, bundled_converters, ffmpeg, probe, video_sample

VIDEO = bundled_converters()["video"]
AUDIO = bundled_converters()["audio"]
PAIRS = [(VIDEO, s, t) for s, t in sorted(VIDEO.pairs())] + [(AUDIO, s, t) for s, t in sorted(AUDIO.pairs())]


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media-samples")
    made = {fmt: video_sample(folder / f"sample.{fmt}", fmt) for fmt in VIDEO.sources}
    made.update({fmt: audio_sample(folder / f"sample.{fmt}", fmt) for fmt in AUDIO.sources})
    return made


def streams(path: Path, kind: str) -> list[dict]:
    return [stream for stream in probe(path)["streams"] if stream["codec_type"] == kind]


def duration(path: Path) -> float:
    return float(probe(path)["format"]["duration"])


def test_advertises_video_and_audio_formats():
    assert set(VIDEO.sources) == {"mp4", "webm", "mkv", "mov", "avi"}
    assert set(VIDEO.targets) == {"mp4", "webm", "gif", "mp3"}
    assert set(AUDIO.sources) == set(AUDIO.targets) == {"mp3", "wav", "ogg", "flac", "m4a", "opus"}
    assert VIDEO.availability().available and AUDIO.availability().available


@pytest.mark.parametrize("converter,source,target", PAIRS, ids=[f"{c.name}-{s}-{t}" for c, s, t in PAIRS])
async def test_every_pair_converts(convert_file, samples, converter, source, target):
    out = await convert_file(converter, samples[source], target)
    assert sniff(out) == target
    if target == "gif":
        assert streams(out, "video")[0]["width"] == 64
        return
    assert duration(out) == pytest.approx(1.0, abs=0.15)
    assert streams(out, "audio"), "the sine tone is still there"
    if target in ("mp4", "webm"):
        assert (streams(out, "video")[0]["width"], streams(out, "video")[0]["height"]) == (64, 48)


async def test_width_fps_and_trim_options(convert_file, tmp_path):
    clip = video_sample(tmp_path / "clip.mp4", "mp4", seconds=2)
    out = await convert_file(VIDEO, clip, "webm", {"width": 32, "fps": 5, "start": 0.5, "duration": 1})
    video = streams(out, "video")[0]
    assert (video["width"], video["height"]) == (32, 24)
    assert video["r_frame_rate"] == "5/1"
    assert duration(out) == pytest.approx(1.0, abs=0.15)


async def test_audio_bitrate_option(convert_file, samples):
    out = await convert_file(AUDIO, samples["wav"], "mp3", {"bitrate": 64})
    assert int(streams(out, "audio")[0]["bit_rate"]) == 64000


async def test_progress_rises_to_100(samples, tmp_path):
    seen: list[int] = []
    clip = video_sample(tmp_path / "long.mp4", "mp4", seconds=4)
    ctx = ConversionContext(tmp_path, "mp4", "webm", report=seen.append)
    await VIDEO.convert(clip, tmp_path / "out.webm", {}, ctx)
    assert seen == sorted(seen) and seen[-1] == 100 and len(seen) >= 2


async def test_a_video_without_sound_cannot_become_mp3(convert_file, tmp_path):
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32:rate=5:duration=1", "-c:v", "libx264", str(silent))
    error = await refused(convert_file, VIDEO, silent, "mp3")
    assert isinstance(error, ConversionFailed) and "no audio" in error.message


# -- caps -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ten_hours(tmp_path_factory) -> Path:
    """A 10-hour video (one 16x16 frame every 10 s, so it is small and quick to make)."""
    path = tmp_path_factory.mktemp("long") / "ten-hours.mkv"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:size=16x16:rate=0.1:duration=36000",
           "-c:v", "libx264", "-preset", "ultrafast", str(path))
    assert duration(path) == pytest.approx(36000, abs=1)
    return path


async def test_an_input_longer_than_the_cap_is_refused_unless_a_part_is_chosen(convert_file, ten_hours):
    assert VIDEO.max_duration < 36000
    error = await refused(convert_file, VIDEO, ten_hours, "mp4")
    assert "lasts 10.0 h" in error.message and "`duration`" in error.message
    out = await convert_file(VIDEO, ten_hours, "mp4", {"start": 7200, "duration": 120})
    assert duration(out) == pytest.approx(120, abs=15)


async def test_the_duration_cap_is_per_converter_and_bounds_a_chosen_part(convert_file, ten_hours):
    short = type(VIDEO)(max_duration=60)
    assert "at most 60 s" in (await refused(convert_file, short, ten_hours, "mp4")).message
    out = await convert_file(short, ten_hours, "mp4", {"duration": 600})
    assert duration(out) <= 70


async def test_oversized_frames_are_refused_after_probing(convert_file, tmp_path):
    huge = tmp_path / "huge.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=size=7696x4336:rate=1:duration=1", "-frames:v", "1",
           "-c:v", "libx264", "-preset", "ultrafast", str(huge))
    error = await refused(convert_file, VIDEO, huge, "mp4")
    assert "too large" in error.message


# -- what it refuses --------------------------------------------------------------------------------------------

async def refused(convert_file, converter, src: Path, target: str) -> AncloraError:
    started = time.monotonic()
    with pytest.raises(AncloraError) as caught:
        await convert_file(converter, src, target)
    # Bounded: an engine that followed a reference to the FIFOs below would block until the sandbox timeout.
    assert time.monotonic() - started < 30
    assert caught.value.status in (415, 422)
    return caught.value


@pytest.fixture
def secret_fifo(tmp_path) -> Path:
    """A named pipe nobody writes to: opening it to read blocks, so an engine that follows a reference to it hangs
    instead of finishing; after the test, no process may hold it open."""
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    yield fifo
    with pytest.raises(OSError) as no_reader:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert no_reader.value.errno == errno.ENXIO


def hls_playlist(target: Path) -> bytes:
    return (f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://{target}\n"
            f"#EXTINF:1.0,\nhttp://127.0.0.1:9/leak\n#EXT-X-ENDLIST\n").encode()


def concat_script(target: Path) -> bytes:
    return f"ffconcat version 1.0\nfile '{target}'\nfile 'http://127.0.0.1:9/leak'\n".encode()


@pytest.mark.parametrize("make", [hls_playlist, concat_script], ids=["hls", "ffconcat"])
@pytest.mark.parametrize("converter,name", [(VIDEO, "clip.mp4"), (AUDIO, "song.mp3")], ids=["video", "audio"])
async def test_playlists_and_scripts_renamed_as_media_are_refused(convert_file, tmp_path, secret_fifo, make,
                                                                 converter, name):
    disguised = tmp_path / name
    disguised.write_bytes(make(secret_fifo))
    error = await refused(convert_file, converter, disguised, "webm" if converter is VIDEO else "wav")
    assert isinstance(error, UnsupportedMediaType)


async def test_a_playlist_behind_an_mp4_header_is_not_followed(convert_file, tmp_path, secret_fifo):
    # The bytes pass as mp4, so ffprobe runs: with the mov demuxer forced, the playlist is just broken data.
    disguised = tmp_path / "clip.mp4"
    disguised.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + hls_playlist(secret_fifo))
    error = await refused(convert_file, VIDEO, disguised, "mp4")
    assert isinstance(error, ConversionFailed)


async def test_a_concat_script_behind_an_id3_tag_is_not_followed(convert_file, tmp_path, secret_fifo):
    disguised = tmp_path / "song.mp3"
    disguised.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + concat_script(secret_fifo))
    error = await refused(convert_file, AUDIO, disguised, "wav")
    assert isinstance(error, ConversionFailed)


async def test_audio_given_to_the_video_converter_is_refused(convert_file, samples, tmp_path):
    disguised = tmp_path / "clip.mp4"
    disguised.write_bytes(samples["wav"].read_bytes())
    assert isinstance(await refused(convert_file, VIDEO, disguised, "webm"), UnsupportedMediaType)


async def test_garbage_with_a_media_extension_fails_cleanly(convert_file, tmp_path):
    garbage = tmp_path / "noise.mkv"
    garbage.write_bytes(b"\x1a\x45\xdf\xa3" + os.urandom(4096))
    error = await refused(convert_file, VIDEO, garbage, "mp4")
    assert isinstance(error, ConversionFailed) and "/" not in error.message


# -- availability -----------------------------------------------------------------------------------------------

async def test_missing_ffmpeg_is_reported_not_a_crash(monkeypatch, tmp_path, samples):
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without ffmpeg
    availability = AUDIO.availability()
    assert not availability.available
    assert "ffmpeg" in availability.reason and availability.install == "apt-get install ffmpeg"
    assert engine_status({"audio": AUDIO})["ffmpeg"]["status"] == "unavailable"
    ctx = ConversionContext(tmp_path, "wav", "mp3")
    with pytest.raises(ServiceUnavailable):
        await AUDIO.convert(samples["wav"], tmp_path / "out.mp3", {}, ctx)


# -- through the HTTP API ---------------------------------------------------------------------------------------

@pytest.fixture
def anclora_overrides():
    return {"plugins_block": ["office", "markup", "pdf"]}


async def test_one_shot_conversion_over_http(client, samples, tmp_path):
    response = await client.post("/api/convert?to=opus&filename=song.flac&bitrate=48",
                                 content=samples["flac"].read_bytes())
    assert response.status_code == 200, response.text
    out = tmp_path / "out.opus"
    out.write_bytes(response.content)
    assert sniff(out) == "opus" and duration(out) == pytest.approx(1.0, abs=0.15)


async def test_playlist_uploaded_as_mp4_is_refused_over_http(client, tmp_path, secret_fifo):
    response = await client.post("/api/convert?to=webm&filename=clip.mp4", content=hls_playlist(secret_fifo))
    assert response.status_code in (415, 422)
    assert response.json()["error"]["code"] in ("unsupported_media_type", "unsupported_conversion")
