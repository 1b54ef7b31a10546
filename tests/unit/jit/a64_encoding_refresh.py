#!/usr/bin/env python3
# Re-assembles every case of a64_encoding_test.cpp with GNU as and checks (--check) or rewrites its expected words.
# SPDX-License-Identifier: Apache-2.0
#
# The expected words must come from the assembler, never from our own output: each case's
# R"asm(...)asm" text is assembled by aarch64-linux-gnu-as, and the words that follow the text
# are compared with (or replaced by) the .text section's words.
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, 'a64_encoding_test.cpp')
CASE = re.compile(r'R"asm\((.*?)\)asm", \{([^}]*)\}', re.S)


def assemble(text):
    with tempfile.TemporaryDirectory() as d:
        src, obj, raw = (os.path.join(d, n) for n in ('c.s', 'c.o', 'c.bin'))
        with open(src, 'w') as f:
            f.write('.text\n' + text + '\n')
        subprocess.run(['aarch64-linux-gnu-as', src, '-o', obj], check=True)
        subprocess.run(['aarch64-linux-gnu-objcopy', '-O', 'binary', '-j', '.text', obj, raw],
                       check=True)
        data = open(raw, 'rb').read()
    return [int.from_bytes(data[i:i + 4], 'little') for i in range(0, len(data), 4)]


def format_words(words, indent):
    items = ['0x%08x' % w for w in words]
    lines, line = [], ''
    for item in items:
        piece = item if not line else line + ', ' + item
        if len(indent) + len(piece) + 2 > 100 and line:
            lines.append(line + ',')
            line = item
        else:
            line = piece
    lines.append(line)
    return ('\n' + indent).join(lines)


def main():
    check = '--check' in sys.argv[1:]
    text = open(SOURCE).read()
    failures = 0

    def replace(match):
        nonlocal failures
        words = assemble(match.group(1))
        old = [int(w, 16) for w in re.findall(r'0x[0-9a-fA-F]+', match.group(2))]
        if old != words:
            failures += 1
            print('differs:' + match.group(1).rstrip())
        return 'R"asm(%s)asm", {%s}' % (match.group(1), format_words(words, ' ' * 11))

    new = CASE.sub(replace, text)
    if check:
        print('%d case(s) differ from the assembler' % failures)
        return 1 if failures else 0
    if new != text:
        open(SOURCE, 'w').write(new)
    print('%d case(s) rewritten' % failures)
    return 0


if __name__ == '__main__':
    sys.exit(main())
