#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The size rules of the production code (issue 17): no Swift file over 400 lines, no
function (func, init, deinit, accessor-free body) over 60 lines, and no force unwrap
without a comment on its line or the line above saying why it cannot fail.

usage: check-size.py [DIR ...]   (default: Sources). Exit status 1 when a rule is broken.
"""
import os, re, sys

MAX_FILE, MAX_FUNC = 400, 60
DECL = re.compile(r'^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|package|static|class|final|'
                  r'mutating|nonmutating|override|convenience|required|nonisolated|consuming|borrowing)\s+)*'
                  r'(func\s+[^\s(<]+|init[?!]?|deinit)\b')
# `x!` `x()!` `x[i]!` followed by member access, a separator or the end: not `!=`.
FORCE = re.compile(r'[\w)\]]!(?=[.\s,)\]:;}]|$)(?!=)')


def strip(line):
    """The line without string literals and comments (enough for braces and `!`)."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    return line.split('//', 1)[0]


def check(path, problems):
    lines = open(path, encoding='utf-8').read().split('\n')
    if len(lines) > MAX_FILE:
        problems.append(f'{path}: {len(lines)} lines (at most {MAX_FILE})')
    in_block_string = False
    for i, raw in enumerate(lines):
        if raw.count('"""') % 2 == 1:
            in_block_string = not in_block_string
            continue
        if in_block_string:
            continue
        code = strip(raw)
        m = DECL.match(code)
        if m and '{' in code[m.end():] + ''.join(strip(l) for l in lines[i + 1:i + 4]):
            depth, started, end = 0, False, i
            for j in range(i, len(lines)):
                c = strip(lines[j])
                depth += c.count('{') - c.count('}')
                started = started or '{' in c
                if started and depth <= 0:
                    end = j
                    break
            length = end - i + 1
            if length > MAX_FUNC:
                problems.append(f'{path}:{i + 1}: {m.group(1)} is {length} lines (at most {MAX_FUNC})')
        if FORCE.search(code) and not raw.lstrip().startswith('//'):
            why = (raw.split('//', 1)[1] if '//' in raw else '') + (lines[i - 1] if i > 0 and lines[i - 1].lstrip().startswith('//') else '')
            if not why.strip():
                problems.append(f'{path}:{i + 1}: force unwrap without a comment saying why it cannot fail: {raw.strip()}')


def main():
    problems = []
    for root in sys.argv[1:] or ['Sources']:
        for d, _, files in os.walk(root):
            for f in sorted(files):
                if f.endswith('.swift'):
                    check(os.path.join(d, f), problems)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
