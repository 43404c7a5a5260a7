"""A file-backed ALSA microphone, for tests and for technicians checking the audio path without a mic.

`write_file_microphone(home, infile)` writes `home/.asoundrc` defining `kioskmic` (ALSA's `file`
plugin reading raw PCM from `infile`, over the `null` PCM) and makes it the default device. Any
program started with HOME=home (PyAudio, arecord) then "records" the contents of `infile`.

What ALSA and PortAudio do with it (observed with alsa-lib 1.2.8, PortAudio 19.6):
- ALSA reads `$HOME/.asoundrc` when its configuration is first loaded (the first PyAudio() in a
  process), so set HOME before that, i.e. in a fresh process. PortAudio frees ALSA's global
  configuration on terminate, so a later PyAudio() sees an edited file.
- The infile has no header and no rate: its bytes are taken to be whatever format the stream was
  opened with. Open at 16 kHz, mono, paInt16 to get the file back sample for sample.
- `null` has no clock: the file is read as fast as the consumer takes it, not in real time.
- After the end of the infile ALSA keeps delivering frames without an error; they hold whatever was
  left in its buffer (not silence). Use a FIFO as infile to make the stream stop instead: reads
  then wait for the writer, like a microphone with nothing to say.
- PortAudio opens every device once while enumerating, so a FIFO infile must already have a writer
  (open it O_RDWR yourself) or PyAudio() blocks.
"""

from __future__ import annotations

from pathlib import Path

DEVICE_NAME = "kioskmic"


def asoundrc_text(infile: str | Path, *, name: str = DEVICE_NAME, make_default: bool = True) -> str:
    infile = Path(infile).resolve()
    if '"' in str(infile):
        raise ValueError(f"{infile}: ALSA configuration strings cannot contain a double quote")
    text = (
        f"pcm.{name} {{\n"
        f"    type file\n"
        f"    slave.pcm \"null\"\n"
        f"    file \"/dev/null\"\n"  # what is "recorded" is also written here; nobody needs it
        f"    infile \"{infile}\"\n"
        f"    format \"raw\"\n"
        f"}}\n"
    )
    if make_default:
        text += f"pcm.!default {{\n    type plug\n    slave.pcm \"{name}\"\n}}\n"
    return text


def write_file_microphone(home: str | Path, infile: str | Path, *, name: str = DEVICE_NAME,
                          make_default: bool = True) -> Path:
    """Write home/.asoundrc so that ALSA device `name` (and `default`) records from `infile`."""
    path = Path(home) / ".asoundrc"
    path.write_text(asoundrc_text(infile, name=name, make_default=make_default), encoding="utf-8")
    return path


def remove_file_microphone(home: str | Path) -> None:
    """Make the device disappear (as if unplugged) for the next PyAudio() in that HOME."""
    (Path(home) / ".asoundrc").write_text("# no file microphone\n", encoding="utf-8")
