"""Time the app: start-up to ready, and each API action's round trip through gradio_client.

    python scripts/bench_app.py                   # the shipped models
    python scripts/bench_app.py --models random   # shipped architectures, untrained weights
    python scripts/bench_app.py --music-model 2-bar=runs/x/model   # a model not yet shipped

Starts ``python -m apps.app`` in a subprocess on a free port of 127.0.0.1 and reports:
- ``startup_s``: from the process start to the first HTTP 200 of the page;
- ``first_answer_s``: from the process start to the first answered reconstruction;
- per action, the cold first call and the median / max of ``--repeats`` warm calls (seconds),
  measured from the client (HTTP + queue + model + PNG encoding + download).
The numbers go to stdout and to ``--out``/bench_app.json. Nothing is left running.

    python scripts/bench_app.py --load 32 --rounds 20   # concurrency only (issue 10)
    python scripts/bench_app.py --disk                  # disk written by one big result

``--load N`` skips the timings and sends identical requests from N clients at once, ``--rounds``
times each (an image sample, and a 2-bar music sample with its audio), fetches every file of
every answer as the browser would and counts the broken ones: unreadable, truncated, differing
from the same request's other answers, or shared with another answer (``hammer``).
``--disk`` skips the timings and measures the bytes one 16-bar 5x5 grid at 40 bpm with its
audio adds under ``--out``/app and under Gradio's cache (``disk_case``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import wave
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("ae", "vae", "dae", "sr", "vae2d")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _random_models(root: Path, defaults: dict[str, str]) -> dict[str, str]:
    """Untrained models with the shipped recipes' architectures (same compute as shipped)."""
    import torch

    from gen.core import registry

    torch.manual_seed(0)  # the same weights every run, so a second run finds its caches
    out = {}
    for role, name in defaults.items():
        model = registry.build_model(registry.get_recipe(name).model)
        out[role] = str(model.save_pretrained(root / name))
    return out


def _tune_midi(path: Path) -> Path:
    """A 16-bar held-out example written as a MIDI file (a realistic upload)."""
    from gen.music.io import load_examples, to_midi

    return to_midi(load_examples(16)[0][1], path)


def _music_actions(client, upload: Path) -> dict:  # noqa: ANN001
    """The Music tab's actions on every loaded model, as the browser sends them: each result
    is followed by its audio (one WAV per piece and one of all), as the page asks for it."""
    from gradio_client import handle_file

    from gen.music.io import load_examples

    def ex(bars: int, i: int) -> tuple:
        return ("example", load_examples(bars)[i][0], None, None)

    a2, b2, c2, d2 = (ex(2, i) for i in range(4))
    a16, b16, c16, d16 = (ex(16, i) for i in range(4))
    up = ("upload", None, handle_file(str(upload)), 3)
    piano = (120, 0)  # tempo, General MIDI program

    def then_audio(call, tempo=piano):  # noqa: ANN001, ANN202
        return lambda: (call(), client.predict(*tempo, api_name="/music_audio"))

    actions = {
        "music: windows of a 16-bar upload": lambda: client.predict(
            "2-bar", handle_file(str(upload)), api_name="/music_windows_a"),
        "music: preview of one input": lambda: client.predict(
            "2-bar", *a2, *piano, api_name="/music_preview_a"),
        "music: reconstruct 2-bar (upload)": lambda: client.predict(
            "2-bar", *up, *piano, api_name="/music_reconstruct"),
        "music: reconstruct 2-bar": lambda: client.predict(
            "2-bar", *a2, *piano, api_name="/music_reconstruct"),
        "music: reconstruct 16-bar": lambda: client.predict(
            "16-bar", *a16, *piano, api_name="/music_reconstruct"),
        "music: sample 4 x 2-bar": lambda: client.predict(
            "2-bar", 4, 1.0, 0.5, 0, *piano, api_name="/music_sample"),
        "music: sample 4 x 16-bar": lambda: client.predict(
            "16-bar", 4, 1.0, 0.5, 0, *piano, api_name="/music_sample"),
        "music: interpolate 2-bar, 8 steps": lambda: client.predict(
            "2-bar", *a2, *b2, 8, *piano, api_name="/music_interpolate"),
        "music: interpolate 16-bar, 5 steps": lambda: client.predict(
            "16-bar", *a16, *b16, 5, *piano, api_name="/music_interpolate"),
        "music: grid 2-bar, 5x5": lambda: client.predict(
            "2-bar", *a2, *b2, *c2, *d2, 5, *piano, api_name="/music_grid"),
        "music: grid 16-bar, 3x3": lambda: client.predict(
            "16-bar", *a16, *b16, *c16, *d16, 3, *piano, api_name="/music_grid"),
        "music: 2-bar interpolation + audio": then_audio(lambda: client.predict(
            "2-bar", *a2, *b2, 8, *piano, api_name="/music_interpolate")),
        "music: 16-bar interpolation + audio": then_audio(lambda: client.predict(
            "16-bar", *a16, *b16, 5, *piano, api_name="/music_interpolate")),
        "music: audio of a 3x3 16-bar grid": then_audio(lambda: client.predict(
            "16-bar", *a16, *b16, *c16, *d16, 3, *piano, api_name="/music_grid")),
    }
    from apps.music.actions import ROLES as MUSIC_ROLES

    # the piano-roll models (a benchmark, not a bar count, is what their role needs)
    for role in [r for r, spec in MUSIC_ROLES.items() if isinstance(spec.need, str)]:
        try:
            answer = client.predict(role, None, None, None, None, api_name="/music_examples")
        except Exception:  # noqa: BLE001 - not shipped or switched off: nothing to time
            continue
        names = [c[1] for c in answer[0]["choices"]]
        tempo = (answer[4], answer[5])  # the model's own tempo and instrument
        a, b, c, d = (("example", n, None, None) for n in names[:4])
        actions.update({
            f"{role}: reconstruct": then_audio(lambda r=role, a=a, t=tempo: client.predict(
                r, *a, *t, api_name="/music_reconstruct"), tempo),
            f"{role}: sample 4": then_audio(lambda r=role, t=tempo: client.predict(
                r, 4, 1.0, 1.0, 0, *t, api_name="/music_sample"), tempo),
            f"{role}: interpolate, 5 steps": then_audio(
                lambda r=role, a=a, b=b, t=tempo: client.predict(
                    r, *a, *b, 5, *t, api_name="/music_interpolate"), tempo),
            f"{role}: grid 3x3": then_audio(
                lambda r=role, a=a, b=b, c=c, d=d, t=tempo: client.predict(
                    r, *a, *b, *c, *d, 3, *t, api_name="/music_grid"), tempo),
        })
    return actions


def _digit_photo(path: Path) -> Path:
    """A 1300x1000 colour photo-like picture of an MNIST test digit (a realistic upload)."""
    from gen.image.io import load_mnist

    x, _ = load_mnist("test", 1)
    page = np.zeros((1000, 1300), np.float32)
    page[80:920, 300:1140] = np.kron(x[0, 0].numpy(), np.ones((30, 30), np.float32))
    rgb = np.stack([220 - 200 * page, 210 - 190 * page, 190 - 170 * page], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


# --------------------------------------------------------------------------- concurrency
def file_problem(name: str, data: bytes) -> str | None:
    """Why ``data`` (a file called ``name``) is not a complete PNG, WAV, MIDI or zip of MIDI
    files; None when it is one."""
    suffix = Path(urllib.parse.unquote(name)).suffix.lower()
    try:
        if suffix == ".png":
            with Image.open(io.BytesIO(data)) as im:
                im.load()
        elif suffix == ".wav":
            with wave.open(io.BytesIO(data)) as w:
                frames = w.getnframes()
                got = len(w.readframes(frames)) // (w.getsampwidth() * w.getnchannels())
                if frames == 0 or got != frames:
                    return f"{got} of {frames} audio frames"
        elif suffix in (".mid", ".midi"):
            return midi_problem(data)
        elif suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if z.testzip() is not None or not z.namelist():
                    return "a damaged or empty zip"
                for member in z.namelist():
                    problem = midi_problem(z.read(member))
                    if problem:
                        return f"{member}: {problem}"
        else:
            return f"an unexpected file type {suffix!r}"
    except Exception as e:  # noqa: BLE001 - any failure to read it is the finding
        return f"unreadable ({type(e).__name__}: {str(e)[:80]})"
    return None


def midi_problem(data: bytes) -> str | None:
    """Why ``data`` is not a complete standard MIDI file (every chunk whole); None if it is."""
    if data[:4] != b"MThd":
        return "no MIDI header"
    pos, tracks = 8 + int.from_bytes(data[4:8], "big"), 0
    while pos < len(data):
        size = int.from_bytes(data[pos + 4: pos + 8], "big")
        if data[pos: pos + 4] != b"MTrk" or pos + 8 + size > len(data):
            return "a truncated track"
        if data[pos + 8 + size - 3: pos + 8 + size] != b"\xff\x2f\x00":
            return "a track without its end"
        pos, tracks = pos + 8 + size, tracks + 1
    return None if tracks else "no tracks"


def content_digest(name: str, data: bytes) -> str:
    """sha256 of a file's content: of its members' names and bytes for a zip (whose entries
    carry the time they were written), else of its bytes."""
    h = hashlib.sha256()
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for member in sorted(z.namelist()):
                h.update(member.encode() + b"\0" + z.read(member))
    else:
        h.update(data)
    return h.hexdigest()


def answer_urls(answer: Any) -> list[str]:
    """The file URLs in an API answer (gradio_client with ``download_files=False``): file
    values and the ``gradio_api/file=`` links inside HTML, in order."""
    found: list[str] = []
    for value in answer if isinstance(answer, (list, tuple)) else [answer]:
        if isinstance(value, dict) and value.get("url"):
            found.append(value["url"])
        elif isinstance(value, str):
            found += [u.replace("&amp;", "&") for u in
                      re.findall(r"""(?:/)?gradio_api/file=[^"' <>)]+""", value)]
    return list(dict.fromkeys(found))  # each file once, in order


def app_calls(bars: str = "2-bar") -> dict[str, Callable[[Any], list[str]]]:
    """Identical requests by name: each takes a gradio_client Client (``download_files=False``)
    and returns the URLs of the files its answers name."""
    def image_sample(c: Any) -> list[str]:
        return answer_urls(c.predict("vae", 16, 1.0, 0, api_name="/sample"))

    def music_sample(c: Any) -> list[str]:
        urls = answer_urls(c.predict(bars, 4, 1.0, 0.5, 0, 120, 0, api_name="/music_sample"))
        return urls + answer_urls(c.predict(120, 0, api_name="/music_audio"))

    return {"image sample": image_sample, f"music sample {bars} + audio": music_sample}


def hammer(url: str, clients: int, rounds: int,
           calls: dict[str, Callable[[Any], list[str]]] | None = None,
           timeout: float = 600.0) -> dict[str, Any]:
    """``clients`` gradio_client clients send the same ``calls`` (``app_calls()`` by default)
    ``rounds`` times each, all at once; every file of every answer is fetched and checked.

    Returns counts: ``responses`` (answers), ``files`` fetched, ``failed`` calls (an error
    instead of an answer), ``broken`` files (unreadable or truncated: ``file_problem``; or
    differing from the content most answers to the same request have at that place),
    ``shared`` URLs (a file named by more than one answer), a few ``examples`` of problems,
    and ``seconds``.
    """
    from gradio_client import Client

    calls = calls or app_calls()
    base = url.rstrip("/") + "/"
    got: list[tuple[str, int, str, bytes | None, str | None]] = []  # call, place, url, data, why
    failures: list[str] = []
    lock = threading.Lock()

    def fetch(u: str) -> tuple[bytes | None, str | None]:
        full = u if u.startswith("http") else base + u.lstrip("/")
        try:
            with urllib.request.urlopen(full, timeout=60) as r:
                data = r.read()
        except OSError as e:
            return None, f"not served ({e})"
        return data, file_problem(full.rsplit("/", 1)[-1], data)

    def connect() -> Any:
        for attempt in range(3):  # a loaded server can be slow to send its API description
            try:
                return Client(url, verbose=False, download_files=False)
            except Exception:  # noqa: BLE001 - tried again, then raised
                if attempt == 2:
                    raise
                time.sleep(2)

    # Connected one after another first: the load measured is the requests, all at once.
    connected = [connect() for _ in range(clients)]
    start = threading.Barrier(clients)

    def client_loop(c: Any) -> None:
        start.wait()
        for _ in range(rounds):
            for name, call in calls.items():
                try:
                    urls = call(c)
                except Exception as e:  # noqa: BLE001 - counted and reported
                    with lock:
                        failures.append(f"{name}: {type(e).__name__}: {str(e)[:120]}")
                    continue
                fetched = [(name, i, u, *fetch(u)) for i, u in enumerate(urls)]
                with lock:
                    got.extend(fetched)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(c,)) for c in connected]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    seconds = time.perf_counter() - t0
    digests: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for name, i, u, data, why in got:
        if data is not None and why is None:
            digests[name, i][content_digest(u, data)] += 1
    broken: list[str] = []
    for name, i, u, data, why in got:
        if why is None and data is not None:
            usual = digests[name, i].most_common(1)[0][0]
            if content_digest(u, data) != usual:
                why = "differs from the other answers to the same request"
        if why is not None:
            broken.append(f"{name} #{i} {u[-60:]}: {why}")
    uses = Counter(u for _, _, u, _, _ in got)
    shared = [u for u, n in uses.items() if n > 1]
    responses = len(threads) * rounds * len(calls) - len(failures)
    return {"clients": clients, "rounds": rounds, "responses": responses, "files": len(got),
            "failed": len(failures), "broken": len(broken), "shared": len(shared),
            "examples": (failures + broken + shared)[:8], "seconds": round(seconds, 1)}


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def disk_case(url: str, out: Path, cache: Path) -> dict[str, Any]:
    """Bytes that one 16-bar 5x5 grid at 40 bpm, then its audio (as the page asks for it), add
    under ``out`` (the request folders) and ``cache`` (Gradio's cache), and the seconds each
    call took."""
    from gradio_client import Client

    from gen.music.io import load_examples

    corners = [("example", load_examples(16)[i][0], None, None) for i in range(4)]
    c = Client(url, verbose=False, download_files=False)
    before = _bytes_under(out), _bytes_under(cache)
    t = time.perf_counter()
    c.predict("16-bar", *[v for x in corners for v in x], 5, 40, 0, api_name="/music_grid")
    grid_s = time.perf_counter() - t
    t = time.perf_counter()
    c.predict(40, 0, api_name="/music_audio")
    audio_s = time.perf_counter() - t
    return {"case": "16-bar 5x5 grid at 40 bpm, with audio",
            "request_folders_mb": round((_bytes_under(out) - before[0]) / 1e6, 1),
            "gradio_cache_mb": round((_bytes_under(cache) - before[1]) / 1e6, 1),
            "grid_s": round(grid_s, 1), "audio_s": round(audio_s, 1)}


def _wait_ready(url: str, proc: subprocess.Popen, t0: float, limit: float) -> float:
    while time.perf_counter() - t0 < limit:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"the app was not ready after {limit:.0f} s")


def _time_calls(call, repeats: int) -> dict[str, float]:  # noqa: ANN001
    t = time.perf_counter()
    call()
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        warm.append(time.perf_counter() - t)
    return {"cold_s": cold, "median_s": statistics.median(warm), "max_s": max(warm)}


def _browser_clicks(url: str, repeats: int) -> dict[str, float]:
    """Click "Reconstruct" on test digits in Chromium; seconds until the new picture shows."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    args += ["--disable-component-update", "--disable-sync", "--no-first-run"]
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.wait_for_selector("#reconstruct")
        page.locator("#main-tabs > .tab-wrapper").get_by_role("tab", name="Test set").click()
        for i in range(repeats + 1):
            page.locator("#main-index input").fill(str(i + 1))
            shown = ("#seen img", "#rec-vae img")
            before = [page.locator(sel).first.get_attribute("src") if i else "" for sel in shown]
            t = time.perf_counter()
            page.click("#reconstruct")
            for sel, old in zip(shown, before):
                page.wait_for_function(
                    "([sel, old]) => { const im = document.querySelector(sel);"
                    " return im && im.complete && im.naturalWidth > 0 && im.src !== old; }",
                    arg=[sel, old or ""],
                )
            if i:  # the first click warms the page up
                times.append(time.perf_counter() - t)
        browser.close()
    return {"median_s": statistics.median(times), "max_s": max(times)}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns the results dict."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", choices=["shipped", "random"], default="shipped")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--out", default=str(ROOT / "out" / "bench"))
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for start-up")
    p.add_argument("--browser", action="store_true", help="also time clicks in Chromium")
    p.add_argument("--music-model", action="append", default=[], metavar="ROLE=PATH",
                   help="use this music model for ROLE (2-bar, 16-bar, chorales, folk-chords); "
                   "repeatable")
    p.add_argument("--no-music", action="store_true", help="time the Image tab only")
    p.add_argument("--load", type=int, default=0, metavar="CLIENTS",
                   help="instead of the timings: CLIENTS concurrent clients sending identical "
                   "requests; counts broken answers")
    p.add_argument("--rounds", type=int, default=20, help="requests of each kind per client "
                   "with --load (20)")
    p.add_argument("--disk", action="store_true", help="instead of the timings: the disk "
                   "written by a 16-bar 5x5 grid at 40 bpm with its audio")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from gradio_client import Client, handle_file

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work_", dir=out))
    cmd = [sys.executable, "-m", "apps.app", "--out", str(out / "app")]  # kept: its caches
    if args.models == "random":
        from apps.image.actions import DEFAULT_IMAGE_MODELS
        from apps.music.actions import DEFAULT_MUSIC_MODELS

        for role, path in _random_models(work / "models", DEFAULT_IMAGE_MODELS).items():
            cmd += ["--image-model", f"{role}={path}"]
        for role, path in _random_models(work / "models", DEFAULT_MUSIC_MODELS).items():
            cmd += ["--music-model", f"{role}={path}"]
    for spec in args.music_model:
        cmd += ["--music-model", spec]
    upload = _digit_photo(work / "digit.png")
    tune = _tune_midi(work / "tune.mid")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    log = open(out / "app.log", "w")  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        startup = _wait_ready(url, proc, t0, args.timeout)
        if args.disk:
            # the app runs without GRADIO_TEMP_DIR (env below): apps.app.use_temp_dir's folder
            cache = Path(tempfile.gettempdir()) / f"gen-app-{os.getuid()}" / "gradio"
            disk = disk_case(url, out / "app", cache)
            print(json.dumps(disk, indent=2))
            return disk
        if args.load:
            Client(url, verbose=False).predict("vae", 4, 1.0, 0, api_name="/sample")  # warm
            load = hammer(url, args.load, args.rounds, timeout=3600)
            load.update(startup_s=round(startup, 2), load_average_1min=os.getloadavg()[0],
                        cpus=os.cpu_count())
            print(json.dumps(load, indent=2))
            (out / "bench_app_load.json").write_text(json.dumps(load, indent=2))
            return load
        client = Client(url, verbose=False, download_files=str(work / "client"))
        client.predict("test", None, None, 3, 0, api_name="/reconstruct")
        first_answer = time.perf_counter() - t0
        test3 = ("test", None, None, 3, 0)
        up = ("upload", None, handle_file(str(upload)), 0, 0)
        actions = {
            "reconstruct (test digit)": lambda: client.predict(*test3, api_name="/reconstruct"),
            "reconstruct (1300x1000 upload)": lambda: client.predict(*up, api_name="/reconstruct"),
            "denoise": lambda: client.predict(*test3, 0.5, 0, api_name="/denoise"),
            "super_resolve": lambda: client.predict(*test3, api_name="/super_resolve"),
            "sample (64, vae)": lambda: client.predict("vae", 64, 1.0, 0, api_name="/sample"),
            "interpolate (10 steps, slerp)": lambda: client.predict(
                *test3, "test", None, None, 8, 0, "vae", 10, "slerp", api_name="/interpolate"
            ),
            "decode_latent": lambda: client.predict(0.3, -0.7, api_name="/decode_latent"),
            "latent_pictures (page load)": lambda: client.predict(api_name="/latent_pictures"),
        }
        if not args.no_music:
            actions.update(_music_actions(client, tune))
        timings = {name: _time_calls(call, args.repeats) for name, call in actions.items()}
        browser = _browser_clicks(url, args.repeats) if args.browser else None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    result = {
        "models": args.models,
        "startup_s": startup,
        "first_answer_s": first_answer,
        "actions": timings,
        "browser_reconstruct_click": browser,
        "load_average_1min": load,
        "cpus": os.cpu_count(),
    }
    print(f"models: {args.models}   load average: {load:.2f} on {os.cpu_count()} CPUs")
    print(f"start-up to ready (page served): {startup:6.2f} s")
    print(f"start-up to first answer:        {first_answer:6.2f} s")
    print(
        f"{'action':38s} {'cold':>7s} {'median':>7s} {'max':>7s}   (s, {args.repeats} warm calls)"
    )
    for name, t in timings.items():
        print(f"{name:38s} {t['cold_s']:7.3f} {t['median_s']:7.3f} {t['max_s']:7.3f}")
    if browser:
        print(
            f"{'browser: click Reconstruct -> shown':38s} {'':7s} {browser['median_s']:7.3f} "
            f"{browser['max_s']:7.3f}"
        )
    (out / "bench_app.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
