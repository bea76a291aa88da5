"""One office pool instance: a hardened LibreOffice profile, soffice, and conversions over UNO.

Runs under LibreOffice's own python (/usr/bin/python3 with python3-uno), never in the server's virtualenv, and
uses the standard library only. The pool starts it inside the sandbox; it starts soffice as its child (same
process group, same network namespace) and then answers JSON lines on stdin/stdout:

    {"op": "ping"}                                           -> {"ok": true} while soffice runs
    {"op": "convert", "src", "dst", "import_filter", "import_options", "export_filter", "filter_data", "landscape"}
                                          -> {"ok": true} | {"ok": false, "error": "...", "fatal": <soffice is gone>}
    {"op": "quit"}                                           -> soffice is closed and the bridge exits

The first line it writes is {"ready": true, "pid": <soffice pid>} (or {"ready": false, "error": "..."}).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.lang import DisposedException

SOFFICE = shutil.which("soffice") or "/usr/lib/libreoffice/program/soffice"
START_TIMEOUT = 60.0
NEVER_EXECUTE = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
NO_UPDATE = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE

# Each item is (path, property, xs type, value). Macros can never run, links are never followed or refreshed,
# formulas are not recalculated on load (WEBSERVICE and friends keep their stored values), nothing is recovered.
HARDENING = (
    ("/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "int", "3"),
    ("/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "boolean", "true"),
    ("/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "boolean", "true"),
    ("/org.openoffice.Office.Writer/Content/Update", "Link", "int", "0"),  # Writer: 0 = never
    ("/org.openoffice.Office.Calc/Content/Update", "Link", "int", "1"),  # Calc: LM_NEVER
    ("/org.openoffice.Office.Calc/Formula/Load", "OOXMLRecalcMode", "int", "1"),  # 1 = never recalculate
    ("/org.openoffice.Office.Calc/Formula/Load", "ODFRecalcMode", "int", "1"),
    ("/org.openoffice.Office.Common/Misc", "FirstRun", "boolean", "false"),
    ("/org.openoffice.Office.Common/Misc", "ShowTipOfTheDay", "boolean", "false"),
    ("/org.openoffice.Office.Common/Misc", "UseOpenCL", "boolean", "false"),
    ("/org.openoffice.Office.Recovery/RecoveryInfo", "Enabled", "boolean", "false"),
    ("/org.openoffice.Office.Recovery/AutoSave", "Enabled", "boolean", "false"),
    ("/org.openoffice.Office.Common/Save/Document", "AutoSave", "boolean", "false"),
)


def write_profile(profile: Path) -> None:
    """The hardened settings, written before soffice first starts so they are in force from the start."""
    items = "\n".join(
        f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>'
        for path, name, _type, value in HARDENING
    )
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{items}\n</oor:items>\n",
        encoding="utf-8",
    )


def props(**values):
    return tuple(PropertyValue(Name=name, Value=value) for name, value in values.items())


def start_office(profile: Path, pipe: str) -> subprocess.Popen:
    # stdout must stay clean: it is our answer channel.
    return subprocess.Popen(
        [SOFFICE, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
         "--nofirststartwizard", f"-env:UserInstallation={profile.as_uri()}", f"--accept=pipe,name={pipe};urp;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )


def connect(pipe: str, office: subprocess.Popen):
    """The Desktop of the office listening on `pipe`, polling until it accepts or dies."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            remote = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
        except NoConnectException:
            if office.poll() is not None and office.returncode != 81:  # 81: soffice restarts after first start
                raise RuntimeError(f"soffice exited with status {office.returncode} while starting") from None
            if time.monotonic() > deadline:
                raise RuntimeError("soffice did not accept connections in time") from None
            time.sleep(0.1)


def convert(desktop, request: dict) -> None:
    load = props(Hidden=True, ReadOnly=True, MacroExecutionMode=NEVER_EXECUTE, UpdateDocMode=NO_UPDATE,
                 FilterName=request["import_filter"], FilterOptions=request.get("import_options", ""))
    document = desktop.loadComponentFromURL(Path(request["src"]).as_uri(), "_blank", 0, load)
    if document is None:
        raise RuntimeError("the document could not be opened")
    try:
        if request.get("landscape"):
            turn_landscape(document)
        store = props(FilterName=request["export_filter"], Overwrite=True)
        if request.get("filter_data"):
            # a sequence of PropertyValue inside a PropertyValue must be typed explicitly for UNO
            data = uno.Any("[]com.sun.star.beans.PropertyValue", props(**request["filter_data"]))
            store += (PropertyValue(Name="FilterData", Value=data),)
            uno.invoke(document, "storeToURL", (Path(request["dst"]).as_uri(), store))
        else:
            document.storeToURL(Path(request["dst"]).as_uri(), store)
    finally:
        document.close(True)


def turn_landscape(document) -> None:
    """Every page style of a text document or spreadsheet turned to landscape (width and height swapped)."""
    styles = document.StyleFamilies.getByName("PageStyles")
    for name in styles.ElementNames:
        style = styles.getByName(name)
        if not style.IsLandscape:
            width, height = style.Width, style.Height
            style.IsLandscape = True
            if width < height:
                style.Width, style.Height = height, width


def answer(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def office_alive(desktop, office: subprocess.Popen) -> bool:
    """After a failed conversion: is soffice still there? (Its launcher may outlive it for a moment.)"""
    if office.poll() is not None:
        return False
    try:
        desktop.getCurrentComponent()
    except Exception:
        return False
    return True


def serve(desktop, office: subprocess.Popen) -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            return
        if request["op"] == "ping":
            # No UNO call here: a stopped soffice must show up as a conversion timeout, not a hung ping.
            answer(ok=office.poll() is None)
            continue
        try:
            convert(desktop, request)
        except Exception as error:  # the document's fault, or soffice died under it: the pool decides
            fatal = isinstance(error, DisposedException) or not office_alive(desktop, office)
            answer(ok=False, fatal=fatal, error=f"{type(error).__name__}: {getattr(error, 'Message', '') or error}")
        else:
            answer(ok=True)


def main() -> int:
    profile, pipe = Path(sys.argv[1]), sys.argv[2]
    write_profile(profile)
    office = start_office(profile, pipe)
    try:
        desktop = connect(pipe, office)
    except Exception as error:
        answer(ready=False, error=str(error))
        return 1
    answer(ready=True, pid=office.pid)
    try:
        serve(desktop, office)  # returns on "quit" or when stdin closes (the server went away)
    finally:
        try:
            desktop.terminate()
            office.wait(timeout=10)
        except Exception:  # already gone or stuck: the pool kills the whole group anyway
            pass
        shutil.rmtree(profile, ignore_errors=True)  # even when the server died without cleaning up
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
