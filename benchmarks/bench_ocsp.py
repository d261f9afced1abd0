"""W5: OCSP responses per second over HTTP on loopback, beside OpenSSL's responder.

Reproduce with::

    python -m benchmarks.bench_ocsp                    # 5 s per measurement, 2 workers
    python -m benchmarks.bench_ocsp --seconds 10 --workers 1
    python -m benchmarks.bench_ocsp --json --quick     # for python -m benchmarks

One CA with 100 certificates (10 revoked) is served by ``trustkit serve
--workers N`` and by ``openssl ocsp -port`` (one process: its ``-multi`` mode
exits at once when started from Python here; the same delegated
responder key and certificate, an index.txt written from the store). The load
comes from C load generators on the same two cores, POSTing for a fixed
time: a fixed request without a nonce (trustkit answers from its cache;
OpenSSL signs each) and one with a nonce. ``wrk`` sends a fresh random
16-octet nonce each time (a Lua script
rewrites the last 16 octets; both sign each). ApacheBench (``ab``, package
apache2-utils) measures both servers alike with one fixed request, with a
nonce or without (a fixed nonce still costs a signature each); OpenSSL's
responder gets one request per connection, as it answers HTTP/1.0 only, and
trustkit is measured that way too. ``wrk`` (random nonces) is measured for
trustkit only: OpenSSL's responder stalls on wrk's probe connection.
Every answer is checked for HTTP 200; one of each kind is verified with
cryptography first. The limit is pyca's own OCSPResponseBuilder building and
signing one response in-process on one core; the bare ECDSA signature is
printed beside it.
cfssl is not installed here: its figure (7,600/s, pre-signed) is the issue's.

Under attack (``--hostile``, also part of a full run): ``trustkit serve`` (one
worker, SQLite store) is probed once every 50 ms on ``/health`` and with an
ordinary OCSP request with a fresh nonce (a signature each), first alone and
then while 20 hostile clients, in another process, send as fast as they can
requests of 700 CertIDs (refused: malformedRequest) and of 16 CertIDs with a
nonce (the most work one request may ask for). Latencies are reported as
median, 99th percentile and worst; the hostile requests answered per second
beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from trustkit.ca import CertificateAuthority
from trustkit.clock import SystemClock
from trustkit.csr import create_csr
from trustkit.keys import generate_key, load_private_key_file
from trustkit.names import parse_name
from trustkit.revocation.ocsp import DELEGATED_CERT_FILE, DELEGATED_KEY_FILE, delegated_signer

CFSSL_ISSUE_FIGURE = 7600.0
"""cfssl's pre-signed OCSP responder as measured in issue 7 (not installed here)."""

PASSPHRASE = b"benchmark passphrase"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, body: bytes, timeout: float = 30) -> None:
    """Wait until ``url`` answers an OCSP request (a bare connect would stall OpenSSL)."""
    import httpx

    headers = {"Content-Type": "application/ocsp-request", "Connection": "close"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, content=body, headers=headers, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: no OCSP responder answers")


def _request(leaf: x509.Certificate, issuer: x509.Certificate, nonce: bool) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(secrets.token_bytes(16)), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/ocsp-request"
local f = io.open("%(body)s", "rb")
local body = f:read("*all")
f:close()
local nonce = %(nonce)s
local prefix = body:sub(1, #body - 16)
local bad = 0
if not nonce then wrk.body = body end
request = function()
  if not nonce then return wrk.format() end
  local n = {}
  for i = 1, 16 do n[i] = string.char(math.random(0, 255)) end
  return wrk.format(nil, nil, nil, prefix .. table.concat(n))
end
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
"""


def _wrk(url: str, body: bytes, nonce: bool, seconds: float, connections: int, tmp: Path) -> float:
    """Responses per second that ``wrk`` got from ``url``, every one HTTP 200."""
    body_file = tmp / f"body-{int(nonce)}.der"
    body_file.write_bytes(body)
    script = tmp / f"post-{int(nonce)}.lua"
    script.write_text(_LUA % {"body": body_file, "nonce": "true" if nonce else "false"})
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: answers other than 200:\n{out}")
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk: no rate in its output:\n{out}")
    return float(match.group(1))


def _ab(
    url: str, body: bytes, seconds: float, connections: int, tmp: Path, keep_alive: bool
) -> float:
    """Responses per second that ApacheBench got from ``url``, every one HTTP 200."""
    body_file = tmp / "ab-body.der"
    body_file.write_bytes(body)
    result = subprocess.run(
        [
            "ab",
            "-q",
            "-r",  # count a reset connection, do not stop
            *(["-k"] if keep_alive else []),
            "-t",
            str(max(1, round(seconds))),
            "-n",
            "10000000",
            "-c",
            str(connections),
            "-p",
            str(body_file),
            "-T",
            "application/ocsp-request",
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    out = result.stdout
    if result.returncode != 0:
        raise RuntimeError(f"ab against {url}: exit {result.returncode}\n{out}{result.stderr}")
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: answers other than 200:\n{out}")
    complete = re.search(r"Complete requests:\s+(\d+)", out)
    taken = re.search(r"Time taken for tests:\s+([0-9.]+)", out)
    if complete is None or taken is None:
        raise RuntimeError(f"ab: no figures in its output:\n{out}")
    # ab counts answers whose length differs from the first as "Length" failures (an
    # ECDSA signature varies by a byte); connection errors do not count as answers.
    broken = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", out)
    errors = sum(int(n) for n in broken.groups()) if broken else 0
    return (int(complete.group(1)) - errors) / float(taken.group(1))


def _check_answer(url: str, body: bytes, responder: x509.Certificate, status: str) -> None:
    """One answer from ``url``, verified with cryptography: what the load then asks for."""
    import httpx

    response = httpx.post(
        url,
        content=body,
        headers={"Content-Type": "application/ocsp-request", "Connection": "close"},
        timeout=10,
    )
    parsed = ocsp.load_der_ocsp_response(response.content)
    assert parsed.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert parsed.certificate_status.name.lower() == status, parsed.certificate_status
    key = responder.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(parsed.signature, parsed.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))


def _index_txt(ca: CertificateAuthority) -> str:
    lines = []
    for record in ca.list():
        expiry = record.not_after.strftime("%y%m%d%H%M%SZ")
        serial = f"{record.serial:X}"
        serial = serial if len(serial) % 2 == 0 else "0" + serial
        subject = "/" + "/".join(reversed(record.subject.split(",")))
        if record.revocation_time is not None:
            revoked = record.revocation_time.strftime("%y%m%d%H%M%SZ")
            lines.append(f"R\t{expiry}\t{revoked}\t{serial}\tunknown\t{subject}")
        else:
            lines.append(f"V\t{expiry}\t\t{serial}\tunknown\t{subject}")
    return "\n".join(lines) + "\n"


def _rate(operation: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``operation`` in this process, median of 3 rounds."""
    rates = []
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        end = start + seconds / 3
        while time.perf_counter() < end:
            for _ in range(50):
                operation()
            count += 50
        rates.append(count / (time.perf_counter() - start))
    return sorted(rates)[1]


def _limits(
    signer: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    seconds: float,
) -> dict[str, float]:
    """The raw pyca costs: one ECDSA signature, and one OCSP response built and signed."""
    data = os.urandom(400)
    now = SystemClock().now()

    def response() -> bytes:
        return (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=leaf,
                issuer=issuer,
                algorithm=hashes.SHA1(),
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now,
                next_update=now + timedelta(hours=1),
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer)
            .certificates([signer])
            .add_extension(x509.OCSPNonce(secrets.token_bytes(16)), critical=False)
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )

    return {
        "signature": _rate(lambda: key.sign(data, ec.ECDSA(hashes.SHA256())), seconds),
        "pyca response": _rate(response, seconds),
    }


def measure(seconds: float, workers: int, connections: int) -> dict[str, float]:
    """Run both responders under wrk; responses per second by name."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ca = CertificateAuthority.create_root(
            "CN=Benchmark CA,O=Example Government,C=EX",
            root / "ca",
            passphrase=PASSPHRASE,
            base_url="http://pki.example.gov",
        )
        key = generate_key()
        leaves = [
            ca.issue(
                create_csr(key, parse_name(f"CN=h{i}.example.gov")),
                "tls-server",
                sans=[x509.DNSName(f"h{i}.example.gov")],
            )
            for i in range(100)
        ]
        for leaf in leaves[:10]:
            ca.revoke(leaf.serial, x509.ReasonFlags.key_compromise)
        signer = delegated_signer(ca, at=SystemClock().now(), passphrase=PASSPHRASE)
        assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
        good = leaves[50].certificate
        figures = _limits(signer.certificate, signer.key, good, ca.certificate, min(3.0, seconds))
        plain = _request(good, ca.certificate, nonce=False)
        nonced = _request(good, ca.certificate, nonce=True)
        sent = ocsp.load_der_ocsp_request(nonced).extensions
        # The Lua script rewrites the last 16 octets: they must be the nonce.
        assert sent.get_extension_for_class(x509.OCSPNonce).value.nonce == nonced[-16:]

        passfile = root / "pass"
        passfile.write_bytes(PASSPHRASE + b"\n")
        passfile.chmod(0o600)
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from trustkit.cli import main; main()",
                "serve",
                "--ca",
                str(root / "ca"),
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--passphrase-file",
                str(passfile),
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/ocsp"
            _wait_ready(url, plain)
            _check_answer(url, plain, signer.certificate, "good")
            _check_answer(url, nonced, signer.certificate, "good")
            figures["trustkit cached"] = _wrk(url, plain, False, seconds, connections, root)
            figures["trustkit nonce"] = _wrk(url, nonced, True, seconds, connections, root)
            figures["trustkit cached, ab"] = _ab(url, plain, seconds, connections, root, False)
            figures["trustkit nonce, ab"] = _ab(url, nonced, seconds, connections, root, False)
        finally:
            server.terminate()
            server.wait(timeout=20)

        (root / "index.txt").write_text(_index_txt(ca))
        plain_key = root / "rkey.pem"
        plain_key.write_bytes(
            load_private_key_file(root / "ca" / DELEGATED_KEY_FILE, PASSPHRASE).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        plain_key.chmod(0o600)
        # One request per connection: OpenSSL's responder answers HTTP/1.0 and stalls
        # on a kept-alive connection (and on wrk's probe connection); it is started
        # afresh for each measurement, as a connection left by the last can stall it.
        for kind, body in (("cached", plain), ("nonce", nonced)):
            port = _free_port()
            log = (root / "openssl.log").open("w+b")
            openssl = subprocess.Popen(
                [
                    "openssl",
                    "ocsp",
                    "-index",
                    str(root / "index.txt"),
                    "-port",
                    str(port),
                    "-rsigner",
                    str(root / "ca" / DELEGATED_CERT_FILE),
                    "-rkey",
                    str(plain_key),
                    "-CA",
                    str(root / "ca" / "ca.pem"),
                    "-nmin",
                    "60",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                url = f"http://127.0.0.1:{port}/"
                try:
                    _wait_ready(url, plain)
                except RuntimeError:
                    log.seek(0)
                    raise RuntimeError(
                        f"openssl ocsp -port (exit {openssl.poll()}): {log.read().decode()}"
                    ) from None
                _check_answer(url, body, signer.certificate, "good")
                figures[f"openssl {kind}, ab"] = _ab(url, body, seconds, connections, root, False)
            finally:
                openssl.terminate()
                openssl.wait(timeout=20)
                log.close()
        ca.close()
    return figures


HOSTILE_CLIENTS = 20
PROBE_INTERVAL = 0.05


def _many_cert_ids(single: bytes, count: int) -> bytes:
    """``single`` (an OCSP request) with its CertID repeated under ``count`` serials."""
    from asn1crypto import core
    from asn1crypto import ocsp as asn1_ocsp

    request = asn1_ocsp.OCSPRequest.load(single)
    item = request["tbs_request"]["request_list"][0]
    items = []
    for index in range(count):
        copy = item.copy()
        copy["req_cert"]["serial_number"] = core.Integer(10**20 + index)
        items.append(copy)
    request["tbs_request"]["request_list"] = asn1_ocsp.Requests(items)
    return bytes(request.dump(force=True))


def _hostile(url: str, bodies: list[bytes], stop_at: float, counts: object) -> None:
    """Send ``bodies`` in turn from HOSTILE_CLIENTS threads until ``stop_at``."""
    import threading

    import httpx

    tallies: dict[str, int] = {}
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx.Client(timeout=60) as http:
            turn = index
            while time.time() < stop_at:
                body = bodies[turn % len(bodies)]
                turn += 1
                try:
                    answer = http.post(
                        url, content=body, headers={"Content-Type": "application/ocsp-request"}
                    )
                    kind = ocsp.load_der_ocsp_response(answer.content).response_status.name
                except Exception as exc:  # counted, not fatal: the probe is what matters
                    kind = type(exc).__name__
                with lock:
                    tallies[kind] = tallies.get(kind, 0) + 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(HOSTILE_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts.put(tallies)  # type: ignore[attr-defined]


def _probe(base: str, body: bytes, seconds: float) -> dict[str, list[float]]:
    """Latencies (ms) of /health and of an OCSP request with a fresh nonce, every 50 ms."""
    import httpx

    found: dict[str, list[float]] = {"health": [], "ocsp": []}
    stop_at = time.monotonic() + seconds
    with httpx.Client(timeout=120) as http:
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            assert http.get(f"{base}/health").status_code == 200
            found["health"].append((time.perf_counter() - began) * 1000)
            fresh = body[:-16] + secrets.token_bytes(16)
            began = time.perf_counter()
            answer = http.post(
                f"{base}/ocsp", content=fresh, headers={"Content-Type": "application/ocsp-request"}
            )
            found["ocsp"].append((time.perf_counter() - began) * 1000)
            status = ocsp.load_der_ocsp_response(answer.content).response_status
            assert status is ocsp.OCSPResponseStatus.SUCCESSFUL, status
            time.sleep(PROBE_INTERVAL)
    return found


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return (
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        ordered[-1],
    )


def measure_hostile(seconds: float) -> dict[str, float]:
    """/health and ordinary OCSP latency alone and under hostile requests (see the notes)."""
    import multiprocessing

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with CertificateAuthority.create_root(
            "CN=Benchmark CA,O=Example Government,C=EX",
            root / "ca",
            passphrase=PASSPHRASE,
            base_url="http://pki.example.gov",
        ) as ca:
            leaf = ca.issue(
                create_csr(generate_key(), parse_name("CN=h.example.gov")),
                "tls-server",
                sans=[x509.DNSName("h.example.gov")],
            ).certificate
            issuer = ca.certificate
        probe_body = _request(leaf, issuer, nonce=True)
        plain = _request(leaf, issuer, nonce=False)
        hostile_bodies = [_many_cert_ids(plain, 700), _many_cert_ids(probe_body, 16)]
        secret = root / "passphrase"
        secret.write_bytes(PASSPHRASE + b"\n")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "trustkit.cli", "serve", "--ca", str(root / "ca"),
             "--port", str(port), "--passphrase-file", str(secret)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_ready(f"{base}/ocsp", probe_body)
            alone = _probe(base, probe_body, seconds)
            context = multiprocessing.get_context("spawn")
            counts = context.Queue()
            stop_at = time.time() + seconds + 2
            attacker = context.Process(
                target=_hostile, args=(f"{base}/ocsp", hostile_bodies, stop_at, counts)
            )
            attacker.start()
            time.sleep(1)  # let the attack get going
            attacked = _probe(base, probe_body, seconds)
            tallies: dict[str, int] = counts.get(timeout=300)
            attacker.join(timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures: dict[str, float] = {}
    for phase, found in (("alone", alone), ("attacked", attacked)):
        for what, values in found.items():
            median, p99, worst = _percentiles(values)
            figures[f"{what} {phase} p50 ms"] = median
            figures[f"{what} {phase} p99 ms"] = p99
            figures[f"{what} {phase} max ms"] = worst
    elapsed = seconds + 3
    for kind, count in sorted(tallies.items()):
        figures[f"hostile {kind} per s"] = count / elapsed
    return figures


def hostile_rows(figures: dict[str, float]) -> list[dict[str, object]]:
    """Rows for the runner: p99 latency under attack beside the same probe alone."""
    out: list[dict[str, object]] = []
    for what, label in (("health", "/health"), ("ocsp", "ordinary OCSP request, nonce")):
        alone = figures[f"{what} alone p99 ms"]
        attacked = figures[f"{what} attacked p99 ms"]
        out.append(
            {
                "workload": f"W5 {label}, p99 latency under {HOSTILE_CLIENTS} hostile clients",
                "trustkit": round(attacked, 1),
                "limit": round(alone, 1),
                "ratio": round(alone / attacked, 2),
                "unit": "ms",
                "peers": {},
            }
        )
    return out


def rows(figures: dict[str, float]) -> list[dict[str, object]]:
    """The W5 rows of ``python -m benchmarks``: responses per second beside the limit."""
    limit = round(figures["pyca response"])
    out: list[dict[str, object]] = []
    for kind, label in (("cached", "repeated queries, no nonce (cached)"), ("nonce", "nonce")):
        ours = figures[f"trustkit {kind}"]
        peers: dict[str, float] = {}
        if kind == "cached":
            peers["cfssl pre-signed (issue figure)"] = CFSSL_ISSUE_FIGURE
        out.append(
            {
                "workload": f"W5 OCSP over HTTP, {label}, wrk keep-alive",
                "trustkit": round(ours),
                "limit": limit,
                "ratio": round(ours / limit, 2),
                "unit": "responses/s",
                "peers": peers,
            }
        )
        ab = figures[f"trustkit {kind}, ab"]
        out.append(
            {
                "workload": f"W5 OCSP over HTTP, {label}, ab one request per connection",
                "trustkit": round(ab),
                "limit": limit,
                "ratio": round(ab / limit, 2),
                "unit": "responses/s",
                "peers": {"openssl ocsp -port": round(figures[f"openssl {kind}, ab"])},
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--workers", type=int, default=2, help="server processes (both servers)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--quick", action="store_true", help="2 s per measurement")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    parser.add_argument(
        "--hostile", action="store_true", help="only the latency under hostile requests"
    )
    args = parser.parse_args()
    seconds = 2.0 if args.quick else args.seconds
    hostile = measure_hostile(max(seconds, 5.0))
    print(f"| W5 under attack: {HOSTILE_CLIENTS} hostile clients, one worker, SQLite | value |")
    print("| --- | --- |")
    for name, value in hostile.items():
        print(f"| {name} | {value:,.1f} |")
    if args.hostile:
        if args.json:
            print(json.dumps(hostile_rows(hostile)))
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    figures = measure(seconds, args.workers, args.connections)
    print(
        f"| W5 OCSP over HTTP, {args.connections} connections, {args.workers} worker(s) "
        "| responses/s | ratio to limit |"
    )
    print("| --- | --- | --- |")
    limit = figures["pyca response"]
    for name, value in figures.items():
        print(f"| {name} | {value:,.0f} | {value / limit:.2f} |")
    if args.json:
        print(json.dumps(rows(figures) + hostile_rows(hostile)))


if __name__ == "__main__":
    main()
