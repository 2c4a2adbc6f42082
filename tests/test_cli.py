"""The command line as a GIS officer uses it: serve, add a region and plan, import, report,
activate; mistakes end in one readable line and exit status 2."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from api.cli import main
from api.schemas import EXAMPLE_PARCEL
from layers.demo import build_demo_plan, write_demo_files


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request, tmp_path) -> str:
    if request.param == "gpkg":
        return str(tmp_path / "simtaru.gpkg")
    return request.getfixturevalue("postgis_url")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def serve(store: str, *extra: str) -> tuple[subprocess.Popen, str, str]:
    """``simtaru serve`` as the README runs it, on a free port: the process, its URL and what it
    printed before the workers were up."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--store", store, "serve", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    printed = []
    for line in proc.stdout:
        printed.append(line)
        if "Application startup complete" in line:
            break
    return proc, f"http://127.0.0.1:{port}", "".join(printed)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    proc.stdout.close()


def test_serve_loads_the_demo_city_once_and_answers_checks(tmp_path):
    store = str(tmp_path / "var" / "simtaru.gpkg")
    proc, url, printed = serve(store, "--workers", "2")
    try:
        assert "RDTR Kota Demo" in printed and "active, in force from 2024-07-01" in printed
        key = re.search(r"stk_[0-9a-f]{12}_[A-Za-z0-9_-]{32}", printed).group(0)
        ready = httpx.get(url + "/health/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["checks"]["plans_in_force"] == 1
        answer = httpx.post(
            url + "/v1/checks",
            json={"parcel": EXAMPLE_PARCEL, "activity": "47112"},
            headers={"X-API-Key": key},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["zones"][0]["subzone_code"] == "R-3"
    finally:
        stop(proc)
    proc, _url, again = serve(store)
    stop(proc)
    assert "No API key existed" not in again  # the first start's key is kept
    assert main(["--store", store, "plans"]) == 0


def test_keys_are_made_listed_and_revoked(capsys, tmp_path):
    store = str(tmp_path / "simtaru.gpkg")
    code, out, _ = run(
        capsys, "--store", store, "key-add", "SIMBG permit desk", "--role", "permit-system"
    )
    assert code == 0
    key_id = re.search(r"key ([0-9a-f]{12}) for SIMBG permit desk \(permit-system\)", out).group(1)
    token = out.splitlines()[-1]
    assert token.startswith(f"stk_{key_id}_")
    _, listed, _ = run(capsys, "--store", store, "keys")
    assert f"key {key_id}: SIMBG permit desk (permit-system)" in listed and "active" in listed
    assert token not in listed
    assert run(capsys, "--store", store, "key-revoke", key_id)[0] == 0
    _, listed, _ = run(capsys, "--store", store, "keys")
    assert "revoked" in listed
    code, _, err = run(capsys, "--store", store, "key-revoke", key_id)
    assert code == 2 and "already revoked" in err
    with pytest.raises(SystemExit) as refused:
        main(["--store", store, "key-add", "x", "--role", "root"])
    assert refused.value.code == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err


def test_import_report_activate_in_force(capsys, tmp_path, store_url):
    files = write_demo_files(tmp_path / "files", build_demo_plan(n_target_zones=60))
    region = uuid.uuid4().hex[:6]
    assert (
        run(
            capsys,
            "--store",
            store_url,
            "region-add",
            region,
            "Kota Uji",
            "--bbox",
            "117.4,0.05,117.6,0.2",
        )[0]
        == 0
    )
    code, out, _ = run(
        capsys,
        "--store",
        store_url,
        "plan-add",
        "--region",
        region,
        "--name",
        "RDTR Uji",
        "--legal-basis",
        "Perda Kota Uji No. 1 Tahun 2025",
    )
    plan_id = out.split()[1].rstrip(":")
    code, out, err = run(
        capsys,
        "--store",
        store_url,
        "import",
        plan_id,
        str(files.zones),
        "--layer",
        "pola_ruang",
        "--itbx",
        str(files.itbx),
        "--intensity",
        str(files.intensity),
        "--crosswalk",
        str(files.crosswalk),
        "--provisions",
        str(files.provisions),
        "--overlay",
        f"LP2B={files.overlays},layer=lp2b,class=KELAS",
        "--label",
        "2025",
        "--json",
    )
    assert code == 0, err
    header, body = out.split("\n", 1)
    version_id = header.split()[1]
    assert "'2025': draft" in header
    assert json.loads(body)["errors"] == 0

    code, out, _ = run(capsys, "--store", store_url, "report", version_id)
    assert code == 0 and "0 error(s)" in out
    code, out, _ = run(capsys, "--store", store_url, "activate", version_id, "--from", "2025-02-01")
    assert code == 0 and "active, in force from 2025-02-01" in out
    code, out, _ = run(
        capsys, "--store", store_url, "in-force", "--date", "2025-03-01", "--region", region
    )
    assert f"version {version_id} '2025'" in out


def test_mistakes_end_in_one_readable_line(capsys, tmp_path):
    store = str(tmp_path / "s.gpkg")
    junk = tmp_path / "zones.gpkg"
    junk.write_text("not a map")
    run(capsys, "--store", store, "region-add", "6474", "Kota Bontang")
    run(
        capsys,
        "--store",
        store,
        "plan-add",
        "--region",
        "6474",
        "--name",
        "x",
        "--legal-basis",
        "y",
    )
    cases = [
        (["import", "1", str(junk)], "zones.gpkg"),
        (["import", "7", str(junk)], "plan 7 is not in the store"),
        (["activate", "99"], "plan version 99 is not in the store"),
        (["import", "1", str(junk), "--overlay", "LP2B"], "--overlay takes NAME=VALUE"),
        (
            ["import", "1", str(junk), "--overlay", "KRB=x.gpkg,colour=red"],
            "unknown option(s) colour",
        ),
        (["plan-add", "--region", "0000", "--name", "x", "--legal-basis", "y"], "region '0000'"),
    ]
    for args, expected in cases:
        code, _out, err = run(capsys, "--store", store, *args)
        assert code == 2, args
        assert err.startswith("error: ") and expected in err, err
        assert "Traceback" not in err and err.count("\n") == 1


def test_the_installed_command_runs(tmp_path):
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("simtaru")),
            "--store",
            str(tmp_path / "s.gpkg"),
            "plans",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
