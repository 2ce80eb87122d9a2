#!/usr/bin/env python3
"""Turn a public header's plain C comments into Doxygen comments, in place.

    scripts/doxyify.py include/ember/ws/conn.h ...     rewrite the files
    scripts/doxyify.py --check FILE...                 exit 1 if any would change

Only comment openers change; prose and code are left byte for byte:
  - the file's first comment (the module's overview) becomes
    "/** @file" + a newline + " * " + the rest;
  - a comment that starts a line and is followed, on the very next line, by
    code (a declaration, a member, an enum value, a #define) becomes "/**";
  - a comment after code on the same line becomes "/**<" (members, enum
    values, #defines), except after a forward declaration "struct x;";
  - section rulers and comments followed by a blank line or by another
    comment stay plain.
Idempotent: comments already starting with "/**" or "/*!" are untouched.
What it cannot do is write the comments a header lacks: run doxygen
(scripts/docs.sh) afterwards and add one for each "is not documented"
warning. What doxygen needs besides, as found converting include/ember:
  - "int a, b; /**< x */" documents b only: put "/** ... */" above for a;
  - enumerators declared on one line: a "/** @var NAME" block after it;
  - "::ffff" reads as a link request: write "\::ffff"; a comment that
    starts "[x]:" reads as a Markdown link definition: reword it.
"""
import re
import sys


def comments(text):
    """Yield (start, end) of each /* ... */ comment outside strings."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            i = j + 1
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            if j < 0:
                return
            yield i, j + 2
            i = j + 2
        else:
            i += 1


FORWARD_DECL = re.compile(r'^\s*struct\s+\w+\s*;\s*$')


def convert(text):
    out, last, first = [], 0, True
    for start, end in comments(text):
        opener = text[start:start + 3]
        line_start = text.rfind('\n', 0, start) + 1
        before = text[line_start:start]
        new = None
        if opener in ('/**', '/*!') and text[start:start + 4] != '/**/':
            pass
        elif first and not before.strip():
            body = text[start + 2:]
            body = body[1:] if body.startswith(' ') else body
            new = '/** @file\n * '
            out.append(text[last:start])
            out.append(new)
            last = start + 2 + (1 if text[start + 2] == ' ' else 0)
            first = False
            continue
        elif before.strip():
            if not FORWARD_DECL.match(before):
                new = '/**<'
        else:
            nl = text.find('\n', end)
            rest_of_line = text[end:nl if nl >= 0 else len(text)]
            if not rest_of_line.strip() and nl >= 0:
                nxt_end = text.find('\n', nl + 1)
                nxt = text[nl + 1:nxt_end if nxt_end >= 0 else len(text)].strip()
                if nxt and not nxt.startswith(('/*', '//', '#if', '#endif', '#else',
                                               '#include', '#undef', '}')):
                    new = '/**'
        first = False
        if new:
            out.append(text[last:start])
            out.append(new)
            last = start + 2
    out.append(text[last:])
    return ''.join(out)


def main(argv):
    check = '--check' in argv
    files = [a for a in argv if a != '--check']
    if not files:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    changed = []
    for path in files:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        new = convert(text)
        if new != text:
            changed.append(path)
            if not check:
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(new)
    for path in changed:
        print(('would change ' if check else 'converted ') + path)
    return 1 if check and changed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
