"""Request Tracker 5 for real, as the helpdesk of the RT connector's tests: Debian's
`request-tracker5`, `rt5-db-sqlite` and `rt5-standalone` (`.ci/run` installs them).

Initialising RT's database takes about 10-20 s, so it is done once (`RTTemplate`):
RT's own schema and data, then what a Supporter installation needs, as an RT
administrator would set it up (`INITIAL_DATA`, RT's initialdata format): the
category and tags custom fields on General and on a second queue, a `supporter`
user with the rights the connector needs (on every queue, so a test may make a
queue of its own) and an API token, and a `reader` user who may only look at
General. Each server (`RTServer`) copies that database and starts `rt-server` on a
free loopback port in a few seconds.

Outgoing mail goes nowhere: RT pipes it to a script that appends it to the
server's `outbox` file, so a test can read what RT would have mailed.
"""

from __future__ import annotations

import email
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from types import TracebackType

from supporter.testing.tansu import free_port

RT_LIB = Path("/usr/share/request-tracker5/lib")
RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
RT_SETUP_DATABASE = "rt-setup-database-5"

ROOT_USER, ROOT_PASSWORD = "root", "password"
"""RT's administrator as a fresh database has it."""
SUPPORTER_USER, SUPPORTER_PASSWORD = "supporter", "supporter-test-password"
READER_USER, READER_PASSWORD = "reader", "reader-test-password"
"""A user who may see the queue's tickets but not comment or change them."""
QUEUE = "General"
SERVE_QUEUE = "Supporter serve"
"""A queue set up like General, for a `supporter serve` of a test's own to poll."""
CATEGORY_FIELD = "Supporter category"
CATEGORY_PATTERN = "^[a-z_]+$"
"""The category field takes Supporter's category names only, as a team may set it up."""
TAGS_FIELD = "Supporter tags"

SUPPORTER_RIGHTS = (
    "SeeQueue",
    "ShowTicket",
    "ShowTicketComments",
    "CommentOnTicket",
    "ModifyTicket",
    "SeeCustomField",
    "ModifyCustomField",
)

INITIAL_DATA = f"""
@Queues = ({{ Name => '{SERVE_QUEUE}' }});
@CustomFields = (
    {{ Name => '{CATEGORY_FIELD}', Type => 'FreeformSingle',
       LookupType => 'RT::Queue-RT::Ticket', ApplyTo => ['{QUEUE}', '{SERVE_QUEUE}'],
       Pattern => '{CATEGORY_PATTERN}',
       Description => 'What Supporter made of the ticket' }},
    {{ Name => '{TAGS_FIELD}', Type => 'FreeformMultiple',
       LookupType => 'RT::Queue-RT::Ticket', ApplyTo => ['{QUEUE}', '{SERVE_QUEUE}'],
       Description => 'Labels Supporter added' }},
);
@Users = (
    {{ Name => '{SUPPORTER_USER}', Password => '{SUPPORTER_PASSWORD}',
       EmailAddress => 'supporter@example.net', Privileged => 1 }},
    {{ Name => '{READER_USER}', Password => '{READER_PASSWORD}',
       EmailAddress => 'reader@example.net', Privileged => 1 }},
);
@ACL = (
    {{ UserId => '{SUPPORTER_USER}',
       Right => [{", ".join(repr(right) for right in SUPPORTER_RIGHTS)}] }},
    {{ UserId => '{SUPPORTER_USER}', Right => 'ManageAuthTokens' }},
    {{ UserId => '{READER_USER}', Queue => '{QUEUE}',
       Right => ['SeeQueue', 'ShowTicket', 'SeeCustomField'] }},
);
1;
"""

# Prints an API token of the `supporter` user (RT::Authen::Token, part of RT 5).
CREATE_TOKEN = f"""
use strict; use warnings;
use RT; RT::LoadConfig(); RT::Init();
my $user = RT::User->new(RT->SystemUser);
$user->Load('{SUPPORTER_USER}') or die "no user {SUPPORTER_USER}";
my ($id, $message, $token) = RT::AuthToken->new(RT->SystemUser)->Create(
    Owner => $user->Id, Description => 'Supporter tests');
die "token: $message" unless $id;
print "$token\\n";
"""

_MAIL_SEPARATOR = "--- mail sent by RT ---"
_SENDMAIL = f"""#!/bin/sh
# RT's outgoing mail, kept here instead of sent.
{{{{ echo '{_MAIL_SEPARATOR}'; cat; }}}} >> '{{outbox}}'
"""


class RTError(RuntimeError):
    """Request Tracker is not installed, or its database or server did not start."""


def rt_installed() -> bool:
    return RT_SERVER.exists() and shutil.which(RT_SETUP_DATABASE) is not None


def _require_installed() -> None:
    if not rt_installed():
        raise RTError(
            "Request Tracker 5 is not installed: apt-get install request-tracker5 "
            "rt5-db-sqlite rt5-standalone (.ci/run does)"
        )


def _site_config(directory: Path, port: int) -> Path:
    """RT's site configuration for an instance living in `directory`."""
    sendmail = directory / "sendmail"
    sendmail.write_text(_SENDMAIL.format(outbox=directory / "outbox"))
    sendmail.chmod(0o755)
    (directory / "site.d").mkdir(exist_ok=True)
    config = directory / "RT_SiteConfig.pm"
    config.write_text(
        f"""
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{directory / "rt.db"}');
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($WebPort, {port});
Set($WebDomain, '127.0.0.1');
Set($RestrictReferrer, 0);
Set($LogToSyslog, undef);
Set($LogToSTDERR, 'warning');
Set($MailCommand, 'sendmailpipe');
Set($SendmailPath, '{sendmail}');
1;
"""
    )
    return config


def _environment(directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RT_SITE_CONFIG": str(directory / "RT_SiteConfig.pm"),
        "RT_SITE_CONFIG_DIR": str(directory / "site.d"),
        "PERL5LIB": str(RT_LIB),
    }


def _run(command: list[str], directory: Path, what: str, *, stdin: str | None = None) -> str:
    result = subprocess.run(
        command,
        env=_environment(directory),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RTError(f"{what} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


@dataclass(frozen=True)
class RTTemplate:
    """An initialised RT database to copy, and the `supporter` user's API token."""

    database: Path
    token: str

    @classmethod
    def create(cls, directory: Path) -> RTTemplate:
        """Initialise RT's database in `directory` (RTError when RT is missing or fails)."""
        _require_installed()
        _site_config(directory, free_port())
        setup = [RT_SETUP_DATABASE, "--skip-create", "--dba-password", ""]
        _run([*setup, "--action", "init"], directory, "rt-setup-database --action init")
        data = directory / "supporter.initialdata"
        data.write_text(INITIAL_DATA)
        _run(
            [*setup, "--action", "insert", "--datafile", str(data)],
            directory,
            "rt-setup-database --action insert",
        )
        token = _run(["perl", "-"], directory, "creating an API token", stdin=CREATE_TOKEN)
        return cls(directory / "rt.db", token.strip())


class RTServer:
    """`rt-server` on 127.0.0.1 with a copy of `template`'s database."""

    def __init__(self, template: RTTemplate, *, workers: int = 2) -> None:
        self.template = template
        self.port = free_port()
        self.workers = workers
        self.directory = Path(tempfile.mkdtemp(prefix="supporter-rt-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL (`SUPPORTER_RT_URL`); REST2 is under `/REST/2.0/`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "rt-server.log"

    @property
    def outbox(self) -> Path:
        """Every mail RT sent, one after the other."""
        return self.directory / "outbox"

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until REST2 answers (RTError if it does not)."""
        _require_installed()
        shutil.copyfile(self.template.database, self.directory / "rt.db")
        _site_config(self.directory, self.port)
        with self.log.open("wb") as log:
            # A session of its own: stop() ends rt-server and the workers it forked.
            self._process = subprocess.Popen(
                [str(RT_SERVER), "--port", str(self.port), "--max-workers", str(self.workers)],
                env=_environment(self.directory),
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None:
                raise RTError(f"rt-server exited with {self._process.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RTError(f"rt-server did not answer on {self.url} in {timeout:g} s")
            time.sleep(0.1)

    def _answers(self) -> bool:
        request = urllib.request.Request(
            f"{self.url}/REST/2.0/rt",
            headers={"Authorization": "Basic " + _basic(ROOT_USER, ROOT_PASSWORD)},
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def mails(self) -> list[Message]:
        """Every mail RT sent so far, oldest first."""
        if not self.outbox.exists():
            return []
        sent = self.outbox.read_text(errors="replace").split(_MAIL_SEPARATOR + "\n")
        return [email.message_from_string(text) for text in sent if text.strip()]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RTServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _basic(user: str, password: str) -> str:
    return b64encode(f"{user}:{password}".encode()).decode()
