"""A small /system/bin/sh: splits a command line as sh would, refuses what sh would expand, runs the commands."""

from __future__ import annotations

from dataclasses import dataclass

from simulator import app_commands, basic_commands
from simulator.basic_commands import Output

# Stands in for "$?" until the command runs, because the status is only known then.
_LAST_STATUS = "\x00?"


class ShellSyntaxError(Exception):
    pass


@dataclass(frozen=True)
class Operator:
    symbol: str


def tokenize(line: str) -> list[str | Operator]:
    """Split like sh does: quotes make text literal, unquoted ; && || | & separate commands."""
    tokens: list[str | Operator] = []
    word: list[str] = []
    in_word = False
    i = 0

    def finish_word():
        nonlocal in_word
        if in_word:
            tokens.append("".join(word))
            word.clear()
            in_word = False

    while i < len(line):
        char = line[i]
        if char in " \t":
            finish_word()
            i += 1
        elif char == "\n":  # like ; for sh
            finish_word()
            tokens.append(Operator(";"))
            i += 1
        elif char in _REDIRECTIONS or _expands(line, i):
            _refuse_expansion(line, i)
        elif char == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated '")
            word.append(line[i + 1:end])
            in_word = True
            i = end + 1
        elif char == '"':
            i = _double_quoted(line, i + 1, word)
            in_word = True
        elif char == "\\":
            if i + 1 < len(line):
                word.append(line[i + 1])
            in_word = True
            i += 2
        elif line.startswith(("&&", "||"), i):
            finish_word()
            tokens.append(Operator(line[i:i + 2]))
            i += 2
        elif char in ";|&":
            finish_word()
            tokens.append(Operator(char))
            i += 1
        elif line.startswith("$?", i):
            word.append(_LAST_STATUS)
            in_word = True
            i += 2
        else:
            word.append(char)
            in_word = True
            i += 1
    finish_word()
    return tokens


def _double_quoted(line: str, i: int, word: list[str]) -> int:
    while i < len(line):
        char = line[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`\n':
            word.append(line[i + 1])
            i += 2
        elif line.startswith("$?", i):
            word.append(_LAST_STATUS)
            i += 2
        elif _expands(line, i):
            _refuse_expansion(line, i)
        else:
            word.append(char)
            i += 1
    raise ShellSyntaxError('unterminated "')


_REDIRECTIONS = "<>"


def _expands(line: str, i: int) -> bool:
    """A real sh would expand this (command substitution, a variable) where the simulator would not."""
    if line[i] == "`":
        return True
    if line[i] != "$" or i + 1 >= len(line):
        return False
    following = line[i + 1]
    return following in "({!#@*$-_" or following.isalnum()


def _refuse_expansion(line: str, i: int) -> None:
    # The device layer must quote every value; an unquoted one that a phone's sh would run or
    # expand is a bug (shell injection), so the simulated phone fails loudly instead of guessing.
    raise ShellSyntaxError(f"unquoted {line[i:i + 2]!r} would be expanded by a real shell: {line!r}")


def run(phone, line: str) -> Output:
    """Run a command line; returns (stdout+stderr, exit status of the last command)."""
    try:
        tokens = tokenize(line)
    except ShellSyntaxError as error:
        return f"/system/bin/sh: syntax error: {error}\n".encode(), 2
    output = bytearray()
    status = 0
    skip_next = False
    argv: list[str] = []
    pipe_input: bytes | None = None
    for token in tokens + [Operator(";")]:
        if isinstance(token, str):
            argv.append(token)
            continue
        if not skip_next and argv:
            argv = [arg.replace(_LAST_STATUS, str(status)) for arg in argv]
            out, status = _run_simple(phone, argv, pipe_input)
            if token.symbol == "|":
                pipe_input = out
            else:
                output += out
                pipe_input = None
        argv = []
        if token.symbol == "&&":
            skip_next = status != 0
        elif token.symbol == "||":
            skip_next = status == 0
        elif token.symbol != "|":
            skip_next = False
    return bytes(output), status


def _run_simple(phone, argv: list[str], stdin: bytes | None) -> Output:
    phone.record_command(argv)
    handler = _COMMANDS.get(argv[0])
    if handler is None:
        return f"/system/bin/sh: {argv[0]}: not found\n".encode(), 127
    return handler(phone, argv[1:], stdin or b"")


_COMMANDS = {**basic_commands.COMMANDS, **app_commands.COMMANDS}
