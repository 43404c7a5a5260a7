"""Spoken replies through espeak-ng, with the microphone muted while the kiosk talks.

Why espeak-ng plays directly (`espeak-ng -v … -s … -a … --stdin`) rather than rendering to
WAV and running `aplay`: espeak-ng's own output (libpcaudio) tries PulseAudio/PipeWire first
and falls back to ALSA, so the same command works on a desktop and on a bare Raspberry Pi;
it starts playing after the first clause instead of after the whole reply; there is one
process to stop; and aplay (alsa-utils) is not otherwise needed. espeak-ng exits only after
its audio has drained, which is what the mute timing relies on. Sites that need a specific
device can pass `player` (e.g. `["aplay", "-q", "-D", "plughw:1"]`): the reply is then
rendered to WAV on espeak-ng's stdout and piped into that command.

The text always goes in on stdin: no shell, no option injection from a leading '-', no
argv length limit.

A kiosk must not die because its loudspeaker or espeak-ng is gone: problems are logged once
and reported by `status()`; replies then stay on screen only.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Callable, Literal

from kiosk.speech.synth import MAX_TEXT_CHARS, SynthError, espeak_options, explain_espeak_failure

log = logging.getLogger(__name__)

# The microphone stays muted this long after playback ends: the room's echo (and the sound
# device's last buffer) must not be heard as the customer speaking.
TAIL_S = 0.15
_KILL_WAIT_S = 2.0


@dataclass(frozen=True)
class SpeakerStatus:
    state: Literal["ready", "speaking", "disabled", "unavailable"]
    detail: str = ""  # why unavailable, or the last playback problem


@dataclass
class _Playback:
    """One reply being spoken; `lock` orders starting the processes against stopping them."""

    text: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    processes: list[subprocess.Popen] = field(default_factory=list)
    stopped: bool = False
    superseded: bool = False  # a newer reply takes over: leave the microphone muted for it
    wake: threading.Event = field(default_factory=threading.Event)  # cuts the tail short
    done: threading.Event = field(default_factory=threading.Event)


class Speaker:
    def __init__(self, voice: str = "en-us", rate_wpm: int = 165, volume: int = 100, *,
                 enabled: bool = True, mute: Callable[[bool], None] | None = None,
                 player: list[str] | None = None) -> None:
        self.enabled = enabled
        self._voice = voice
        self._unavailable = ""
        try:
            self._options = espeak_options(voice=voice, rate_wpm=rate_wpm, amplitude=volume)
        except SynthError as exc:  # a bad [tts] setting silences the kiosk, it does not stop it
            self._options = []
            self._unavailable = str(exc)
        self._mute = mute
        self._player = list(player) if player else None
        self._lock = threading.Lock()
        self._current: _Playback | None = None
        self._last_problem = ""
        self._logged: set[str] = set()
        self._binary = shutil.which("espeak-ng") if enabled else None
        if enabled:
            self._check_setup()

    # --- public ---------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """True when replies can be spoken (enabled, espeak-ng present, voice installed)."""
        return self.enabled and not self._unavailable

    def status(self) -> SpeakerStatus:
        if not self.enabled:
            return SpeakerStatus("disabled", "spoken replies are turned off ([tts] enabled = false)")
        if self._unavailable:
            return SpeakerStatus("unavailable", self._unavailable)
        current = self._current
        if current is not None and not current.done.is_set():
            return SpeakerStatus("speaking", self._last_problem)
        return SpeakerStatus("ready", self._last_problem)

    def say(self, text: str, *, wait: bool = True) -> None:
        """Speak `text`, interrupting any reply still playing.

        wait=True returns once playback and the mute tail are over; wait=False returns at once
        and speaks in a background thread.
        """
        if not self.available or not text or not text.strip():
            return
        if len(text) > MAX_TEXT_CHARS:
            self._problem("too_long", f"a reply of {len(text)} characters was not spoken "
                                      f"(at most {MAX_TEXT_CHARS})")
            return
        playback = _Playback(text)
        with self._lock:
            previous, self._current = self._current, playback
        if previous is not None:
            self._interrupt(previous, superseded=True)
            previous.done.wait(_KILL_WAIT_S + TAIL_S + 1.0)
        if wait:
            self._run(playback)
        else:
            threading.Thread(target=self._run, args=(playback,), name="kiosk-speaker", daemon=True).start()

    def stop(self) -> None:
        """Cut the current reply short (the customer tapped stop); the mute tail still applies."""
        current = self._current
        if current is not None:
            self._interrupt(current, superseded=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current reply (and its mute tail) is over; False on timeout."""
        current = self._current
        return current is None or current.done.wait(timeout)

    def close(self) -> None:
        self.stop()
        self.wait(_KILL_WAIT_S + TAIL_S + 1.0)

    # --- playback ---------------------------------------------------------------------------

    def _run(self, playback: _Playback) -> None:
        # Muted before any audio can start, unmuted only after it ended plus the tail, whatever
        # happens in between (espeak-ng failing, being killed, an exception here).
        self._set_mute(True)
        try:
            self._play(playback)
        except Exception:  # a reply must never take the kiosk down
            log.exception("spoken reply failed")
        finally:
            try:
                playback.wake.wait(TAIL_S)
                if not playback.superseded:
                    self._set_mute(False)
            finally:
                playback.done.set()

    def _play(self, playback: _Playback) -> None:
        assert self._binary is not None
        speak = [self._binary, *self._options, "--stdin"]
        with tempfile.TemporaryFile() as errors:  # a file, not a pipe: stderr can never block espeak-ng
            with playback.lock:
                if playback.stopped:
                    return
                try:
                    if self._player is None:
                        processes = [_start(speak, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                            stderr=errors)]
                    else:
                        render = _start([*speak, "--stdout"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=errors)
                        play = _start(self._player, stdin=render.stdout, stdout=subprocess.DEVNULL,
                                      stderr=errors)
                        render.stdout.close()  # the player owns the pipe now: it sees EOF when espeak ends
                        processes = [render, play]
                except OSError as exc:
                    self._unavailable = f"cannot start {exc.filename or 'espeak-ng'}: {exc.strerror or exc}"
                    self._problem("start", self._unavailable + "; spoken replies are off")
                    return
                playback.processes = processes
            try:
                processes[0].stdin.write(playback.text.encode("utf-8"))
                processes[0].stdin.close()
            except BrokenPipeError:
                pass  # stopped (or died) before reading the text: the return code tells which
            for process in processes:
                process.wait()
            if playback.stopped:
                return
            errors.seek(0)
            stderr = errors.read(4000).decode("utf-8", "replace")
            failed = any(p.returncode != 0 for p in processes)
            # espeak-ng exits 0 even when no sound device opened; it only says so on stderr.
            if failed or "error" in stderr.lower():
                self._last_problem = _explain_playback_failure(stderr, self._voice)
                self._problem(self._last_problem, "reply could not be played: " + self._last_problem)
            else:
                self._last_problem = ""

    def _interrupt(self, playback: _Playback, *, superseded: bool) -> None:
        with playback.lock:
            playback.stopped = True
            playback.superseded = playback.superseded or superseded
            processes = list(playback.processes)
        if superseded:
            playback.wake.set()
        for process in processes:
            _terminate(process)

    # --- helpers ------------------------------------------------------------------------------

    def _check_setup(self) -> None:
        if self._unavailable:
            pass
        elif self._binary is None:
            self._unavailable = "espeak-ng is not installed; install it with `sudo apt install espeak-ng`"
        elif self._player is not None and shutil.which(self._player[0]) is None:
            self._unavailable = f"audio player {self._player[0]!r} is not installed (tts player setting)"
        else:
            try:  # -q: check the voice without making a sound
                check = subprocess.run([self._binary, "-q", *self._options, "--stdin"], input=b"",
                                       capture_output=True, timeout=10, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                self._unavailable = f"espeak-ng does not run: {exc}"
            else:
                if check.returncode != 0:
                    self._unavailable = explain_espeak_failure(check.stderr.decode("utf-8", "replace"),
                                                               self._voice)
        if self._unavailable:
            self._problem("setup", self._unavailable + "; replies are shown on screen only")

    def _set_mute(self, muted: bool) -> None:
        if self._mute is None:
            return
        try:
            self._mute(muted)
        except Exception:  # the microphone's problem must not stop the reply (or the unmute)
            log.exception("mute(%s) callback failed", muted)

    def _problem(self, key: str, message: str) -> None:
        """Log a problem once: a missing speaker must not flood the log with every reply."""
        if key not in self._logged:
            self._logged.add(key)
            log.warning("speaker: %s", message)


def _start(command: list[str], **kwargs) -> subprocess.Popen:
    # Own session: stop() can end the process together with anything it started.
    return subprocess.Popen(command, start_new_session=True, **kwargs)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(_KILL_WAIT_S)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _explain_playback_failure(stderr: str, voice: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    detail = " / ".join(dict.fromkeys(lines[-3:]))  # the last distinct lines say what finally failed
    device_trouble = any("alsa" in line.lower() or line.startswith("error:") for line in lines)
    if "voice does not exist" in stderr or not device_trouble:
        return explain_espeak_failure(stderr, voice)
    return (f"no sound output: espeak-ng could not open the audio device ({detail}); check the loudspeaker "
            "and the system's default output (ALSA/PulseAudio)")

