"""Tones for the phones to send, and the check that a recording carries one.

Each phone sends a sine of its own frequency; the other side's recording must
carry that frequency and not the sender's own one (which would mean the relay
looped a phone's media back to it). The check is a Goertzel filter over 50 ms
blocks of the decoded 16-bit PCM: a block "has" a tone when the energy at that
frequency is most of the block's energy (a pure tone through G.711 keeps well
over 80 %; silence, noise or the other tone keep almost none).
"""
import math
import struct
import subprocess
import wave

BLOCK_MS = 50
SHARE = 0.5		# part of a block's energy that must sit at the frequency
MIN_RMS = 300		# below this a block counts as silence (16-bit full scale 32767)


def make(path, hz, seconds=30, rate=8000):
    """A mono 16-bit WAV of a sine at HZ, half of full scale (sox)."""
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", "1", "-b", "16", path, "synth",
                    str(seconds), "sine", str(hz), "vol", "0.5"], check=True, timeout=30)


def _goertzel_power(samples, rate, hz):
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


def read_mono(path):
    """(rate, samples) of a 16-bit WAV; a stereo file is reduced to its left channel."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("%s: %d-byte samples, want 16-bit" % (path, w.getsampwidth()))
        ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    vals = struct.unpack("<%dh" % (len(raw) // 2), raw[:len(raw) // 2 * 2])
    return rate, vals[::ch]


class Analysis:
    """Per 50 ms block: silent, or which of the asked frequencies dominate it."""

    def __init__(self, path, freqs):
        self.path = path
        self.rate, samples = read_mono(path)
        self.freqs = list(freqs)
        n = self.rate * BLOCK_MS // 1000
        self.blocks = []	# per block: None when silent, else {hz: share of energy}
        for i in range(0, len(samples) - n + 1, n):
            blk = samples[i:i + n]
            energy = sum(x * x for x in blk)
            if energy == 0 or math.sqrt(energy / n) < MIN_RMS:
                self.blocks.append(None)
                continue
            # Goertzel power of a sine of amplitude A over N samples is (A*N/2)^2; its energy
            # in the time domain is A^2*N/2, so share = power * 2 / (N * energy).
            self.blocks.append({hz: _goertzel_power(blk, self.rate, hz) * 2 / (n * energy)
                                for hz in self.freqs})

    def seconds(self):
        return len(self.blocks) * BLOCK_MS / 1000.0

    def tone_seconds(self, hz):
        """How long the recording carries HZ as its dominant content."""
        return sum(1 for b in self.blocks if b and b[hz] >= SHARE) * BLOCK_MS / 1000.0

    def summary(self):
        return "%s: %.2f s recorded, %s, %.2f s silent" % (
            self.path, self.seconds(),
            ", ".join("%.2f s at %d Hz" % (self.tone_seconds(hz), hz) for hz in self.freqs),
            sum(1 for b in self.blocks if b is None) * BLOCK_MS / 1000.0)


def _ulaw(x):
    """One 16-bit sample as G.711 mu-law (ITU-T G.711: bias 132, 8 segments, bits inverted)."""
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 0x84
    exp = next((e for e in range(7, -1, -1) if x & (0x80 << e)), 0)
    return ~(sign | (exp << 4) | ((x >> (exp + 3)) & 0x0F)) & 0xFF


def pcmu_rtp(hz, seq, ts, ssrc, samples=160, rate=8000):
    """An RTP packet (payload type 0, PCMU) carrying SAMPLES of a sine at HZ from time TS."""
    payload = bytes(_ulaw(int(16000 * math.sin(2 * math.pi * hz * (ts + k) / rate)))
                    for k in range(samples))
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload
