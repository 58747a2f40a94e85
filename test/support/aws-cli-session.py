"""Runs AWS CLI commands one after another in one Python process, each through the CLI's own driver
as the `aws` script runs it (awscli.clidriver), so only the first pays Python's start and the CLI's
imports. Reads one JSON array of arguments per line; writes one JSON line per command:
{"code": <exit code>, "stdout": "...", "stderr": "..."}."""
import contextlib
import io
import json
import sys

import awscli.clidriver

answers = sys.stdout
for line in sys.stdin:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            driver = awscli.clidriver.create_clidriver()
            code = driver.main(json.loads(line))
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
    answers.write(json.dumps({"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}) + "\n")
    answers.flush()
