"""``trustkit serve``: OCSP, CRLs and CA certificates over HTTP (extra ``service``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from ..errors import ConfigError
from ._common import passphrase, passphrase_file_option


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
    "--tsa",
    "tsa_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also serve POST /tsa from this TSA directory (trustkit tsa init).",
)
@passphrase_file_option
def serve(
    ca_dirs: tuple[Path, ...],
    host: str,
    port: int,
    workers: int,
    signing: str,
    tsa_dir: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Serve POST/GET /ocsp, /crl/NAME.crl, /ca/NAME.crt and /health for every CA given,
    and POST /tsa with --tsa."""
    try:
        from ..service import create_app, discover_authorities
        from ..service import serve as run
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"trustkit serve needs {exc.name} (pip install 'trustkit[service]')"
        ) from exc
    from starlette.applications import Starlette

    from ..clock import SystemClock
    from ..revocation.ocsp import ResponderSettings, SigningMode, delegated_signer

    secret = passphrase(passphrase_file, prompt="Passphrase for the CA keys")
    settings = ResponderSettings(
        signing=SigningMode(signing),
        # A revocation reaches OCSP clients within a second; cached answers
        # cost no store query in between.
        revocation_poll=timedelta(seconds=1),
    )
    authorities = discover_authorities(ca_dirs or (Path("."),), passphrase=secret)
    names = ", ".join(ca.config.name for ca in authorities)
    if workers > 1:
        # The delegated signers are issued once, here, not by each worker at once;
        # then every worker opens the CAs for itself (nothing open crosses a fork).
        if settings.signing is SigningMode.DELEGATED:
            now = SystemClock().now()
            for ca in authorities:
                delegated_signer(ca, at=now, passphrase=secret)
        for ca in authorities:
            ca.close()

    def make_app() -> Starlette:
        extra_routes = []
        if tsa_dir is not None:
            from ..service.tsa import tsa_routes
            from ..tsa import TimestampAuthority

            extra_routes = tsa_routes(TimestampAuthority.open(tsa_dir, passphrase=secret))
        opened = (
            authorities
            if workers == 1
            else discover_authorities(ca_dirs or (Path("."),), passphrase=secret)
        )
        return create_app(opened, passphrase=secret, settings=settings, extra_routes=extra_routes)

    click.echo(f"serving {names} on http://{host}:{port} ({workers} worker(s))", err=True)
    run(make_app, host=host, port=port, workers=workers)
