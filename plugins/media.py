"""Audio and video with ffmpeg: video (mp4, webm, mkv, mov, avi) to mp4, webm, gif or mp3; audio formats among each
other.

ffmpeg follows whatever an input tells it to open, so nothing reaches it on trust: the type comes from the bytes
(an HLS playlist or an ffconcat script renamed .mp4 is text and stops there), ffprobe reads the file with that
format's demuxer forced and only the file protocol allowed, the probed demuxer must be on an allowlist, and the
conversion runs with the same demuxer forced, a duration cap (`-t`), an output-size cap (`-fs`), scale and frame
rate caps and a bounded thread count.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from anclora import Converter, UnsupportedMediaType, hookimpl
from anclora.engines import sandbox, worker
from anclora.errors import ConversionFailed, ServiceUnavailable
from anclora.sniff import sniff

log = logging.getLogger("anclora.plugins.media")


# The demuxer forced for each sniffed format, and the names ffprobe must then report.
DEMUXERS = {
    "mp4": "mov", "mov": "mov", "m4a": "mov", "webm": "matroska", "mkv": "matroska", "avi": "avi",
    "mp3": "mp3", "wav": "wav", "ogg": "ogg", "opus": "ogg", "flac": "flac",
}
PROBED_DEMUXERS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mp3", "wav", "ogg", "flac"}

VIDEO_OUTPUT = {
    "mp4": ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-movflags", "+faststart", "-f", "mp4"],
    "webm": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
             "-pix_fmt", "yuv420p", "-c:a", "libopus", "-f", "webm"],
    "gif": ["-an", "-f", "gif"],
}
AUDIO_OUTPUT = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "ogg": ["-c:a", "libvorbis", "-f", "ogg"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "m4a": ["-c:a", "aac", "-f", "ipod"],
    "opus": ["-c:a", "libopus", "-f", "opus"],
}
QUALITY = {"mp4": ["-crf", "23"], "webm": ["-crf", "32", "-b:v", "0"]}  # without a `bitrate` option
LOSSLESS_AUDIO = {"wav", "flac"}

OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bitrate": {"type": "integer", "minimum": 8, "maximum": 20000,
                    "description": "Bitrate in kbit/s: of the video for video targets, of the audio otherwise."},
        "width": {"type": "integer", "minimum": 16, "maximum": 3840,
                  "description": "Output width in pixels (video and gif); the height follows the aspect ratio."},
        "fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "description": "Output frame rate."},
        "start": {"type": "number", "minimum": 0, "description": "Seconds to skip at the start of the input."},
        "duration": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds of input to convert."},
    },
}


class MediaConverter(Converter):
    """What the video and audio converters share: probing, the capped ffmpeg command, progress."""

    engine = "ffmpeg"
    executables = ("ffmpeg", "ffprobe")
    install = "apt-get install ffmpeg"
    options = OPTIONS
    max_duration = 3 * 3600.0  # seconds of input read, whatever the file claims
    max_output_bytes = 2 * 1024**3
    max_input_pixels = 7680 * 4320
    max_side = 1920  # output scale cap unless `width` asks for more
    max_fps = 60
    max_streams = 32
    threads = 2
    memory_bytes = 2 * 1024**3  # address space; a 4K VP9 encode with 2 threads peaks near 600 MB resident
    timeout = 1800.0

    def __init__(self, max_duration: float | None = None):
        if max_duration is not None:
            self.max_duration = max_duration
        self.limits = {"max_duration": self.max_duration, "max_output_bytes": self.max_output_bytes,
                       "timeout": self.timeout}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx) -> None:
        """Probe `src`, then convert it to `ctx.target_format` with every cap in place."""
        availability = self.availability()
        if not availability.available:
            raise ServiceUnavailable(f"ffmpeg is not available: {availability.reason}")
        found = sniff(src, ctx.source_format)
        if found not in self.sources:
            raise UnsupportedMediaType(f"a {found} file is not accepted as {'/'.join(self.sources)}")
        demuxer = DEMUXERS[found]
        probe = await self.probe(src, found, demuxer, ctx)
        self.check_duration(probe, options)
        await ctx.progress(5)
        expected = self.expected_seconds(probe, options)
        argv = self.command(src, dst, demuxer, ctx.target_format, probe, options)
        await self.run_ffmpeg(argv, expected, ctx)
        await ctx.progress(100)

    async def probe(self, src: Path, found: str, demuxer: str, ctx) -> dict[str, Any]:
        """ffprobe's view of the file read with `demuxer` only; refuse what is not plain audio/video."""
        argv = [shutil.which("ffprobe"), "-v", "error", "-hide_banner", "-protocol_whitelist", "file",
                "-f", demuxer, "-show_format", "-show_streams", "-of", "json", f"file:{src}"]
        result = await sandbox.run(argv, cwd=ctx.workdir, timeout=60, limits=self.sandbox_limits(60))
        try:
            probe = json.loads(result.stdout)
        except ValueError:
            probe = {}
        format_name = probe.get("format", {}).get("format_name")
        if result.returncode != 0 or format_name is None:
            raise ConversionFailed(f"the file is not a readable {found} file")
        if format_name not in PROBED_DEMUXERS:
            raise UnsupportedMediaType(f"a {format_name} stream is not accepted")
        self.check_streams(probe.get("streams", []), found)
        return probe

    def check_streams(self, streams: list[dict[str, Any]], found: str) -> None:
        if len(streams) > self.max_streams:
            raise ConversionFailed(f"the file has more than {self.max_streams} streams")
        for stream in streams:
            pixels = int(stream.get("width") or 0) * int(stream.get("height") or 0)
            if stream.get("codec_type") == "video" and pixels > self.max_input_pixels:
                raise ConversionFailed(f"the video is {stream['width']}x{stream['height']}: too large")
        if not any(stream.get("codec_type") in ("audio", "video") for stream in streams):
            raise ConversionFailed(f"the {found} file has no audio or video")

    def check_duration(self, probe: dict[str, Any], options: dict[str, Any]) -> None:
        """A longer input than the cap is refused unless the caller chose a part (`duration`): no silently cut
        output. (`-t` still caps what is read, whatever the file claims.)"""
        length = _remaining(probe, options)
        if length is not None and length > self.max_duration and "duration" not in options:
            raise ConversionFailed(
                f"the input lasts {_hours(length)}; at most {_hours(self.max_duration)} are converted: set the "
                "`duration` option (and `start`) to convert a part", details={"limit": "max_duration"})

    def expected_seconds(self, probe: dict[str, Any], options: dict[str, Any]) -> float | None:
        """How many seconds of input the conversion will read (for progress), if the probe knows."""
        limits = [value for value in (_remaining(probe, options), options.get("duration"), self.max_duration)
                  if value]
        return max(min(limits), 0.001) if limits else None

    def command(self, src: Path, dst: Path, demuxer: str, target: str, probe: dict[str, Any],
                options: dict[str, Any]) -> list[str]:
        duration = min(options.get("duration", self.max_duration), self.max_duration)
        argv = [shutil.which("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-nostats",
                "-progress", "pipe:1", "-protocol_whitelist", "file", "-threads", str(self.threads)]
        if options.get("start"):
            argv += ["-ss", f"{options['start']:.3f}"]
        argv += ["-t", f"{duration:.3f}", "-f", demuxer, "-i", f"file:{src}"]
        argv += self.output_args(target, probe, options)
        argv += ["-threads", str(self.threads), "-filter_threads", str(self.threads),
                 "-fs", str(self.max_output_bytes), "-map_metadata", "-1", "-y", f"file:{dst}"]
        return argv

    def output_args(self, target: str, probe: dict[str, Any], options: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def audio_args(self, target: str, probe: dict[str, Any], options: dict[str, Any]) -> list[str]:
        if not any(stream.get("codec_type") == "audio" for stream in probe.get("streams", [])):
            raise ConversionFailed("the file has no audio stream")
        args = ["-vn", "-sn", "-dn", "-map", "0:a:0", *AUDIO_OUTPUT[target]]
        if options.get("bitrate") and target not in LOSSLESS_AUDIO:
            args += ["-b:a", f"{min(options['bitrate'], 320)}k"]
        return args

    async def run_ffmpeg(self, argv: list[str], expected: float | None, ctx) -> None:
        relay = worker.ProgressRelay(ctx, scale=lambda seconds: 5 + 94 * seconds / expected)

        def on_line(line: bytes) -> None:
            key, _, value = line.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us" and expected and value.isdigit():
                relay(min(int(value) / 1e6, expected))

        result = await sandbox.run(argv, cwd=ctx.workdir, timeout=min(self.timeout, ctx.timeout),
                                   limits=self.sandbox_limits(self.timeout), on_stdout_line=on_line)
        await relay.drain()
        if result.returncode != 0:
            log.info("ffmpeg exited with %s: %s", result.returncode, result.stderr[-2000:].decode(errors="replace"))
            raise ConversionFailed(f"ffmpeg could not convert this file to {ctx.target_format}")

    def sandbox_limits(self, seconds: float) -> sandbox.Limits:
        return sandbox.Limits(cpu_seconds=int(seconds) * self.threads, file_bytes=self.max_output_bytes + 2**20,
                              open_files=64, memory_bytes=self.memory_bytes)


class VideoConverter(MediaConverter):
    name = "video"
    sources = ("mp4", "webm", "mkv", "mov", "avi")
    targets = ("mp4", "webm", "gif", "mp3")
    cost = 2
    gif_max_side = 480
    gif_fps = 10

    def output_args(self, target: str, probe: dict[str, Any], options: dict[str, Any]) -> list[str]:
        if target == "mp3":
            return self.audio_args(target, probe, options)
        if not any(stream.get("codec_type") == "video" for stream in probe.get("streams", [])):
            raise ConversionFailed("the file has no video stream")
        args = ["-map", "0:v:0", *(["-map", "0:a:0?"] if target != "gif" else []), "-sn", "-dn"]
        args += ["-vf", self.video_filter(target, probe, options), *VIDEO_OUTPUT[target]]
        if options.get("bitrate") and target != "gif":
            args += ["-b:v", f"{options['bitrate']}k"]
        elif target in QUALITY:
            args += QUALITY[target]
        return args

    def video_filter(self, target: str, probe: dict[str, Any], options: dict[str, Any]) -> str:
        side = self.gif_max_side if target == "gif" else self.max_side
        fps = options.get("fps") or (self.gif_fps if target == "gif" else None)
        if fps is None and self.source_fps(probe) > self.max_fps:
            fps = self.max_fps
        if options.get("width"):
            box = f"w={options['width']}:h={max(side, options['width'])}"
        else:
            box = f"w='min(iw,{side})':h='min(ih,{side})'"
        steps = [f"fps={fps:g}"] if fps else []
        steps.append(f"scale={box}:force_original_aspect_ratio=decrease:force_divisible_by=2")
        if target == "gif":
            steps.append("split[frames][copy];[copy]palettegen[palette];[frames][palette]paletteuse")
        return ",".join(steps)

    @staticmethod
    def source_fps(probe: dict[str, Any]) -> float:
        for stream in probe.get("streams", []):
            if stream.get("codec_type") == "video":
                numerator, _, denominator = str(stream.get("avg_frame_rate", "0/1")).partition("/")
                try:
                    return float(numerator) / float(denominator or 1)
                except (ValueError, ZeroDivisionError):
                    return 0.0
        return 0.0


class AudioConverter(MediaConverter):
    name = "audio"
    sources = ("mp3", "wav", "ogg", "flac", "m4a", "opus")
    targets = sources
    cost = 1

    def output_args(self, target: str, probe: dict[str, Any], options: dict[str, Any]) -> list[str]:
        return self.audio_args(target, probe, options)


@hookimpl
def anclora_register_converters():
    return [VideoConverter(), AudioConverter()]


def _remaining(probe: dict[str, Any], options: dict[str, Any]) -> float | None:
    """Seconds of input from `start` to the end, as the probe tells (None if it does not)."""
    try:
        return float(probe["format"]["duration"]) - options.get("start", 0)
    except (KeyError, TypeError, ValueError):
        return None


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"
