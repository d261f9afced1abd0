"""``trustkit init``, ``subca``, ``issue`` and ``show``."""

from __future__ import annotations

from pathlib import Path

import click

from ..ca import CertificateAuthority
from ..config import CONFIG_FILE, ca_names_in_use, check_new_ca_directory, choose_ca_name
from ..csr import load_csr
from ..encoding import format_serial, parse_serial
from ..errors import OutputError
from ..keys import DEFAULT_CA_KEY_TYPE, KeyType
from ..names import format_name, parse_general_names, parse_name, parse_name_constraint
from ._common import (
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    F,
    ca_option,
    complete_profile,
    echo_json,
    json_option,
    lazy_passphrase,
    lazy_pin,
    new_ca_key,
    passphrase,
    passphrase_file_option,
    pin_file_option,
    read_input,
    write_output,
)
from .listing import record_json

KEY_TYPES = click.Choice([k.value for k in KeyType])


def token_key_options(func: F) -> F:
    """``--key pkcs11:...``, ``--existing-key``, ``--pkcs11-module`` and ``--pin-file``."""
    for option in reversed(
        (
            click.option(
                "--key",
                "key_uri",
                help="Keep the CA key on a PKCS#11 token: an RFC 7512 URI "
                "(pkcs11:token=...;object=...).",
            ),
            click.option(
                "--existing-key", is_flag=True, help="With --key: use the key already on the token."
            ),
            click.option(
                "--pkcs11-module",
                envvar="TRUSTKIT_PKCS11_MODULE",
                help="PKCS#11 module for --key (default $TRUSTKIT_PKCS11_MODULE).",
            ),
            pin_file_option,
        )
    ):
        func = option(func)
    return func


NO_POINTERS_WARNING = (
    "warning: no --base-url: certificates {name} issues will carry no CRL distribution point "
    "or OCSP URL (RFC 5280 4.2.1.13, 4.2.2.1), so relying parties cannot check their "
    "revocation; set [urls] base in {config}"
)


def _warn_without_pointers(ca: CertificateAuthority) -> None:
    """One line on stderr when the CA's certificates will say nowhere how to check revocation."""
    if ca.config.effective_crl_url is None and ca.config.effective_ocsp_url is None:
        click.echo(
            NO_POINTERS_WARNING.format(name=ca.config.name, config=ca.directory / CONFIG_FILE),
            err=True,
        )


@click.command("init")
@click.option(
    "--ca", "ca_dir", required=True, type=click.Path(path_type=Path), help="New CA directory."
)
@click.option(
    "--subject", required=True, help='RFC 4514 name, e.g. "CN=Example Root CA,O=Example,C=EX".'
)
@click.option("--key-type", type=KEY_TYPES, default=DEFAULT_CA_KEY_TYPE.value, show_default=True)
@click.option("--days", type=click.IntRange(min=1), help="Validity in days (profile root-ca).")
@click.option("--name", help="Short URL-safe CA name (default: from the common name).")
@click.option("--base-url", help="Where CRLs, OCSP and CA certificates are published.")
@click.option(
    "--store", "store_url", help="Store URL (default: sqlite store.db in the CA directory)."
)
@click.option("--path-length", type=click.IntRange(min=0), help="Root pathLenConstraint.")
@token_key_options
@passphrase_file_option
def init(
    ca_dir: Path,
    subject: str,
    key_type: str,
    days: int | None,
    name: str | None,
    base_url: str | None,
    store_url: str | None,
    path_length: int | None,
    key_uri: str | None,
    existing_key: bool,
    pkcs11_module: str | None,
    pin_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Create a root CA: key, self-signed certificate, configuration and store.

    With --key pkcs11:..., the key is generated on the token (or, with
    --existing-key, taken from it) and never leaves it.

    The directory must hold none of trustkit.toml, ca.key, ca.pem, chain.pem
    and store.db: nothing of an existing CA is overwritten. A directory it
    makes is 0700 whatever the umask.

    The CA's name is in the URLs of its certificates (/crl/NAME.crl,
    /ca/NAME.crt). A name derived from the common name that a CA in a
    sibling directory already uses (a root rollover with the same CN) gets
    a generation suffix, NAME-2; a --name already used is refused.
    Without --base-url the certificates it issues carry no CRL or OCSP URL,
    and init warns.
    """
    # Checked before a passphrase is asked for or a key is made on a token, so a
    # refused init leaves nothing behind.
    check_new_ca_directory(ca_dir)
    # A CA beside this one with the same name would share its URLs under `trustkit serve`.
    name = choose_ca_name(name, parse_name(subject), ca_names_in_use(ca_dir))
    key, secret = new_ca_key(
        key_uri,
        key_type=key_type,
        existing=existing_key,
        pin_file=pin_file,
        module=pkcs11_module,
        ask_passphrase=lambda: passphrase(
            passphrase_file, prompt="Passphrase for the new CA key", confirm=True
        ),
    )
    ca = CertificateAuthority.create_root(
        subject,
        ca_dir,
        passphrase=secret,
        key=key,
        key_type=key_type,
        days=days,
        name=name,
        base_url=base_url,
        store=store_url,
        path_length=path_length,
    )
    click.echo(f"created root CA {ca.config.name} in {ca_dir}")
    click.echo(f"  subject: {format_name(ca.certificate.subject)}")
    click.echo(f"  serial:  {format_serial(ca.certificate.serial_number)}")
    click.echo(f"  expires: {ca.certificate.not_valid_after_utc:%Y-%m-%d}")
    _warn_without_pointers(ca)
    ca.close()


@click.command("subca")
@ca_option
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="New CA directory."
)
@click.option("--subject", required=True, help="RFC 4514 name of the new CA.")
@click.option("--key-type", type=KEY_TYPES, default=DEFAULT_CA_KEY_TYPE.value, show_default=True)
@click.option("--days", type=click.IntRange(min=1), help="Validity in days (profile sub-ca).")
@click.option("--name", help="Short URL-safe CA name (default: from the common name).")
@click.option("--base-url", help="Publication URL (default: the parent's).")
@click.option("--store", "store_url", help="Store URL of the new CA.")
@click.option("--path-length", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--permit", multiple=True, help="Permitted subtree, e.g. dns:.gov.example, ip:10.0.0.0/8."
)
@click.option("--exclude", multiple=True, help="Excluded subtree, same forms as --permit.")
@token_key_options
@passphrase_file_option
@click.option(
    "--new-passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help=f"Passphrase for the new CA key (else ${NEW_PASSPHRASE_ENV}, ${PASSPHRASE_ENV}, "
    "a prompt). --passphrase-file is the parent's only: to protect the new key with the "
    "same passphrase, give the same file here too.",
)
def subca(
    ca_dir: Path,
    out_dir: Path,
    subject: str,
    key_type: str,
    days: int | None,
    name: str | None,
    base_url: str | None,
    store_url: str | None,
    path_length: int,
    permit: tuple[str, ...],
    exclude: tuple[str, ...],
    key_uri: str | None,
    existing_key: bool,
    pkcs11_module: str | None,
    pin_file: Path | None,
    passphrase_file: Path | None,
    new_passphrase_file: Path | None,
) -> None:
    """Create an issuing CA under the CA in --ca.

    The new directory is checked and made as for init. A name derived from
    the common name that the CAs above already use (their caIssuers URLs),
    or a CA in a directory beside the new one or beside the parent, gets a
    generation suffix, NAME-2; a --name already used is refused.
    """
    from cryptography import x509

    check_new_ca_directory(out_dir)  # before any passphrase is asked for or token key made

    constraints = None
    if permit or exclude:
        constraints = x509.NameConstraints(
            permitted_subtrees=[parse_name_constraint(p) for p in permit] or None,
            excluded_subtrees=[parse_name_constraint(e) for e in exclude] or None,
        )
    parent = CertificateAuthority.open(
        ca_dir,
        passphrase=lazy_passphrase(passphrase_file, prompt="Passphrase for the parent CA key"),
        pin=lazy_pin(pin_file),
    )
    with parent:
        name = choose_ca_name(
            name,
            parse_name(subject),
            ca_names_in_use(
                out_dir,
                parent_directory=parent.directory,
                parent_name=parent.config.name,
                chain=(parent.certificate, *parent.chain),
            ),
        )
        key, secret = new_ca_key(
            key_uri,
            key_type=key_type,
            existing=existing_key,
            pin_file=pin_file,
            module=pkcs11_module,
            ask_passphrase=lambda: passphrase(
                new_passphrase_file,
                prompt="Passphrase for the new CA key",
                env=NEW_PASSPHRASE_ENV,
                fallback_env=PASSPHRASE_ENV,
                confirm=True,
                option="--new-passphrase-file",
            ),
        )
        child = parent.create_subordinate(
            subject,
            out_dir,
            passphrase=secret,
            key=key,
            key_type=key_type,
            days=days,
            name=name,
            base_url=base_url,
            store=store_url,
            path_length=path_length,
            name_constraints=constraints,
        )
        click.echo(f"created subordinate CA {child.config.name} in {out_dir}")
        click.echo(f"  subject: {format_name(child.certificate.subject)}")
        click.echo(f"  issuer:  {format_name(parent.certificate.subject)}")
        click.echo(f"  serial:  {format_serial(child.certificate.serial_number)}")
        _warn_without_pointers(child)
        child.close()


CSR_SUFFIXES = (".pem", ".der", ".csr", ".req")
"""Files taken from ``--csr-dir``."""


def _csr_files(csr_paths: tuple[Path, ...], csr_dir: Path | None) -> list[Path]:
    paths = list(csr_paths)
    if csr_dir is not None:
        found = sorted(
            p for p in csr_dir.iterdir() if p.suffix.lower() in CSR_SUFFIXES and p.is_file()
        )
        if not found:
            raise click.UsageError(f"--csr-dir {csr_dir}: no CSR files ({', '.join(CSR_SUFFIXES)})")
        paths.extend(found)
    if not paths:
        raise click.UsageError("give --csr FILE (repeatable) or --csr-dir DIR")
    return paths


@click.command("issue")
@ca_option
@click.option(
    "--csr",
    "csr_paths",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CSR file, PEM or DER; repeat it to issue a batch.",
)
@click.option(
    "--csr-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help=f"Issue a batch: every {', '.join(CSR_SUFFIXES)} file in this directory.",
)
@click.option(
    "--profile",
    default="tls-server",
    show_default=True,
    shell_complete=complete_profile,
    help="Certificate profile (built-in, or defined in the CA's trustkit.toml).",
)
@click.option(
    "--days", type=click.IntRange(min=1), help="Validity in days (capped by the profile)."
)
@click.option(
    "--san", "sans", multiple=True, help="Replace the CSR's SANs: dns:, ip:, email:, uri:."
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: stdout); for a batch, one PEM bundle in CSR order.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Batch output: each certificate goes to DIR/<CSR file name>.pem (a file each "
    "costs a disk sync each: -o FILE writes one bundle).",
)
@click.option("--fullchain", is_flag=True, help="Write the certificate followed by its chain.")
@passphrase_file_option
@pin_file_option
def issue(
    ca_dir: Path,
    csr_paths: tuple[Path, ...],
    csr_dir: Path | None,
    profile: str,
    days: int | None,
    sans: tuple[str, ...],
    out: Path | None,
    out_dir: Path | None,
    fullchain: bool,
    passphrase_file: Path | None,
    pin_file: Path | None,
) -> None:
    """Issue a certificate from a CSR under a profile, or a batch of them.

    A batch (several --csr, or --csr-dir) is issued in one process with one
    key unlock and recorded in one store transaction: all or nothing.

    If writing the output fails after the store recorded the certificates
    (a full disk), the error names their serials: fetch them with
    `trustkit show SERIAL --pem` rather than issuing again.
    """
    paths = _csr_files(csr_paths, csr_dir)
    batch = len(paths) > 1 or csr_dir is not None or out_dir is not None
    if batch:
        _issue_batch(
            ca_dir, paths, profile, days, sans, out, out_dir, fullchain, passphrase_file, pin_file
        )
        return
    csr_path = paths[0]
    csr = load_csr(read_input(csr_path), what=str(csr_path))
    ca = CertificateAuthority.open(
        ca_dir,
        passphrase=lazy_passphrase(passphrase_file, prompt="Passphrase for the CA key"),
        pin=lazy_pin(pin_file),
    )
    with ca:
        issued = ca.issue(csr, profile, days=days, sans=parse_general_names(sans) if sans else None)
    try:
        write_output(out, issued.fullchain_pem() if fullchain else issued.pem())
    except OSError as exc:
        raise _not_written(ca_dir, [issued.serial], out, exc) from exc
    if out is not None:
        click.echo(
            f"issued {format_serial(issued.serial)} ({profile}) to "
            f"{issued.record.subject or ', '.join(issued.record.sans)} -> {out}",
            err=True,
        )


def _issue_batch(
    ca_dir: Path,
    paths: list[Path],
    profile: str,
    days: int | None,
    sans: tuple[str, ...],
    out: Path | None,
    out_dir: Path | None,
    fullchain: bool,
    passphrase_file: Path | None,
    pin_file: Path | None,
) -> None:
    from ..ca import Enrollment
    from ..errors import BatchPolicyViolation, PolicyViolation, Violation

    if (out is None) == (out_dir is None):
        raise click.UsageError(
            "a batch of CSRs needs either --out-dir DIR (a file each) or -o FILE (one bundle)"
        )
    if sans:
        raise click.UsageError("--san replaces one CSR's names; it cannot apply to a batch")
    targets = [out_dir / f"{path.stem}.pem" for path in paths] if out_dir is not None else []
    if len(set(targets)) != len(targets):
        raise click.UsageError("two CSR files share a name; their certificates would collide")
    enrollments = [
        Enrollment(load_csr(read_input(path), what=str(path)), profile, days) for path in paths
    ]
    ca = CertificateAuthority.open(
        ca_dir,
        passphrase=lazy_passphrase(passphrase_file, prompt="Passphrase for the CA key"),
        pin=lazy_pin(pin_file),
    )
    with ca:
        try:
            issued = ca.issue_many(enrollments)
        except BatchPolicyViolation as exc:
            # Name the CSR file, not its index in the batch.
            raise PolicyViolation(
                [
                    Violation(v.check, f"{paths[index]}: {v.field}", v.message)
                    for index, found in exc.failures.items()
                    for v in found
                ]
            ) from exc
    pems = [cert.fullchain_pem() if fullchain else cert.pem() for cert in issued]
    serials = [cert.serial for cert in issued]
    if out_dir is None:
        try:
            write_output(out, b"".join(pems))  # the bundle: one write, one sync
        except OSError as exc:
            raise _not_written(ca_dir, serials, out, exc) from exc
    else:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _not_written(ca_dir, serials, out_dir, exc) from exc
        for index, (target, pem) in enumerate(zip(targets, pems, strict=True)):
            try:
                write_output(target, pem)
            except OSError as exc:
                raise _not_written(ca_dir, serials[index:], target, exc) from exc
    click.echo(f"issued {len(issued)} certificates ({profile}) -> {out_dir or out}", err=True)


def _not_written(ca_dir: Path, serials: list[int], out: Path | None, exc: OSError) -> OutputError:
    """The error for certificates committed to the store whose output failed.

    The serials are named so that the operator fetches them rather than
    issuing again, which would make second certificates for the same keys.
    """
    where = "standard output" if out is None or str(out) == "-" else str(out)
    shown = ", ".join(format_serial(serial) for serial in serials)
    if len(serials) == 1:
        noun, fetch = "certificate", f"`trustkit show --ca {ca_dir} {shown} --pem` prints it"
    else:
        noun, fetch = (
            f"{len(serials)} certificates",
            (f"`trustkit show --ca {ca_dir} SERIAL --pem` prints each"),
        )
    return OutputError(
        f"issued {noun} {shown} (recorded in the store), but writing {where} failed "
        f"({exc.strerror or exc}); do not issue again: {fetch}",
        serials=serials,
    )


@click.command("show")
@ca_option
@click.argument("serial")
@click.option("--pem", is_flag=True, help="Print the certificate as PEM.")
@json_option
def show(ca_dir: Path, serial: str, pem: bool, as_json: bool) -> None:
    """Show one issued certificate by its serial number (hex)."""
    with CertificateAuthority.open(ca_dir) as ca:
        record = ca.get(parse_serial(serial))
    from ..inspection import Described, describe_certificate, render_text

    if pem:
        from ..encoding import pem_encode

        click.echo(pem_encode("CERTIFICATE", record.der).decode(), nl=False)
        return
    details = {
        "record": record_json(record),
        "certificate": describe_certificate(record.certificate),
    }
    if as_json:
        echo_json(details)
        return
    click.echo(render_text([Described("record", details["record"])]))
    click.echo(render_text([Described("certificate", details["certificate"])]))
