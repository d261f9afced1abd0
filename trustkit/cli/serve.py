"""``trustkit serve``: OCSP, CRLs and CA certificates over HTTP (extra ``service``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from ..errors import ConfigError, TrustkitError
from ..revocation.ocsp import DEFAULT_MAX_CERT_IDS
from ._common import lazy_passphrase, passphrase_file_option, read_passphrase_file


def _ca_passphrases(values: tuple[str, ...]) -> dict[str, bytes]:
    """``NAME=FILE`` pairs of --ca-passphrase-file: each CA's passphrase, by CA name."""
    found: dict[str, bytes] = {}
    for value in values:
        name, sep, file = value.partition("=")
        if not sep or not name or not file:
            raise click.BadParameter(
                f"{value!r}: expected NAME=FILE (the CA's name in trustkit.toml, a file)",
                param_hint="--ca-passphrase-file",
            )
        if name in found:
            raise click.BadParameter(f"CA {name} given twice", param_hint="--ca-passphrase-file")
        found[name] = read_passphrase_file(Path(file), f"--ca-passphrase-file {name}=")
    return found


@click.command("serve")
@click.option(
    "--ca",
    "ca_dirs",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    multiple=True,
    envvar="TRUSTKIT_CA",
    help="A CA directory, or a directory holding CA directories; repeat for more.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes answering on the one port, each with its own OCSP cache.",
)
@click.option(
    "--signing",
    type=click.Choice(["delegated", "ca"]),
    default="delegated",
    show_default=True,
    help="Sign OCSP responses with a delegated responder certificate or the CA key.",
)
@click.option(
    "--max-cert-ids",
    type=click.IntRange(1, 1000),
    default=DEFAULT_MAX_CERT_IDS,
    show_default=True,
    help="CertIDs one OCSP request may ask about; more is refused (malformedRequest).",
)
@click.option(
    "--tsa",
    "tsa_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also serve POST /tsa from this TSA directory (trustkit tsa init).",
)
@passphrase_file_option
@click.option(
    "--ca-passphrase-file",
    "ca_passphrase_files",
    metavar="NAME=FILE",
    multiple=True,
    help="The passphrase of CA NAME (its name in trustkit.toml) from FILE's first line, "
    "where it differs from the common one; repeat for more CAs.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log to stderr at this level: info writes one JSON line per request (the access "
    "log), warning only those answered 5xx.",
)
def serve(
    ca_dirs: tuple[Path, ...],
    host: str,
    port: int,
    workers: int,
    signing: str,
    max_cert_ids: int,
    tsa_dir: Path | None,
    passphrase_file: Path | None,
    ca_passphrase_files: tuple[str, ...],
    log_level: str,
) -> None:
    """Serve POST/GET /ocsp, /crl/NAME.crl, /ca/NAME.crt and /health for every CA given,
    and POST /tsa with --tsa.

    Each request is logged to stderr as one JSON line: time, method, path, status,
    the CA that answered, the OCSP statuses given, duration_ms and client.

    Every CA key is opened before serving: a wrong passphrase, or two CAs with the
    same name, stop serve at once. /health answers 200 only while every CA's store
    answers and its keys open, else 503.
    """
    try:
        from ..service import create_app, discover_authorities
        from ..service import serve as run
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"trustkit serve needs {exc.name} (pip install 'trustkit[service]')"
        ) from exc

    from ..clock import SystemClock
    from ..revocation.ocsp import ResponderSettings, SigningMode, delegated_signer
    from ..service.access_log import AccessLog, log_to_stderr

    log_to_stderr(log_level.upper())

    own = _ca_passphrases(ca_passphrase_files)
    common = lazy_passphrase(passphrase_file, prompt="Passphrase for the CA keys")
    settings = ResponderSettings(
        signing=SigningMode(signing),
        # A revocation reaches OCSP clients within a second; cached answers
        # cost no store query in between.
        revocation_poll=timedelta(seconds=1),
        max_cert_ids=max_cert_ids,
    )
    authorities = discover_authorities(ca_dirs or (Path("."),), passphrase=common, passphrases=own)
    # The common passphrase is asked for only when a CA (or the TSA) has no own one.
    uses_common = tsa_dir is not None or any(ca.config.name not in own for ca in authorities)
    secret = common() if uses_common else None
    names = ", ".join(ca.config.name for ca in authorities)
    # Every key is opened before anything is served: a CA that cannot sign is
    # refused here, in one line, rather than served with /health failing. The
    # delegated signers are issued once, here, not by each worker at once.
    now = SystemClock().now()
    for ca in authorities:
        try:
            ca.key  # noqa: B018 - opens the CA key (CRLs, and OCSP with --signing ca)
            if settings.signing is SigningMode.DELEGATED:
                delegated_signer(ca, at=now, passphrase=own.get(ca.config.name, secret))
        except TrustkitError as exc:
            for opened in authorities:
                opened.close()
            raise ConfigError(f"CA {ca.config.name}: cannot sign: {exc}") from exc
    if workers > 1:
        # Every worker opens the CAs for itself (nothing open crosses a fork).
        for ca in authorities:
            ca.close()

    def make_app() -> AccessLog:
        extra_routes = []
        if tsa_dir is not None:
            from ..service.tsa import tsa_routes
            from ..tsa import TimestampAuthority

            extra_routes = tsa_routes(TimestampAuthority.open(tsa_dir, passphrase=secret))
        opened = (
            authorities
            if workers == 1
            else discover_authorities(ca_dirs or (Path("."),), passphrase=secret, passphrases=own)
        )
        app = create_app(
            opened,
            passphrase=secret,
            passphrases=own,
            settings=settings,
            extra_routes=extra_routes,
        )
        return AccessLog(app, opened)

    click.echo(f"serving {names} on http://{host}:{port} ({workers} worker(s))", err=True)
    run(make_app, host=host, port=port, workers=workers)
