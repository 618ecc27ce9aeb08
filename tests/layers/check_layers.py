#!/usr/bin/env python3
"""Fails when a source file includes a header its layer may not see.

The layers (see README.md, "Layout"):
  lib/      pure libraries: no event loop, no runtime, no filters, no YAML
  filters/  the request-path features: pure too, and never the runtime
  config/   YAML -> typed config: the only layer that includes yaml-cpp
  proxy/    the runtime: the only layer that includes libuv and hiredis
llhttp stays inside lib/http. A typed config header (config/*.h without YAML) may be read by
any layer; the loader's headers only by config/ and the runtime.

  check_layers.py [ROOT]      check the tree at ROOT (default: this checkout)
  check_layers.py --self-test build a tree with one violation per rule and expect each caught
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
LAYERS = ('lib', 'filters', 'config', 'proxy')
SOURCE_SUFFIXES = ('.h', '.hpp', '.cc', '.cpp', '.c')


def is_loader_header(path):
    return path.startswith('config/') and (os.path.basename(path).startswith('loader')
                                           or path == 'config/yaml_reader.h')


def forbidden(layer, path, header):
    """Why `path` (in `layer`) may not include `header`, or None when it may."""
    if header == 'uv.h' or header.startswith('uv/'):
        return None if layer == 'proxy' else 'libuv belongs to the runtime (proxy/)'
    if header.startswith('hiredis/'):
        return None if layer == 'proxy' else 'hiredis belongs to the runtime (proxy/)'
    if header.startswith('yaml-cpp/'):
        return None if layer == 'config' else 'yaml-cpp belongs to config/'
    if header == 'llhttp.h':
        return None if path.startswith('lib/http/') else 'llhttp stays inside lib/http'
    if header.startswith('proxy/') and layer != 'proxy':
        return f'{layer}/ may not include the runtime'
    if header.startswith('filters/') and layer in ('lib', 'config'):
        return f'{layer}/ may not include filters'
    if is_loader_header(header) and layer in ('lib', 'filters'):
        return f'{layer}/ may read typed config only, not the YAML loader'
    return None


def check(root):
    problems = []
    for layer in LAYERS:
        for directory, _, names in os.walk(os.path.join(root, layer)):
            for name in sorted(names):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                full = os.path.join(directory, name)
                path = os.path.relpath(full, root)
                with open(full, encoding='utf-8', errors='replace') as f:
                    text = f.read()
                for match in INCLUDE.finditer(text):
                    header = match.group(2)
                    why = forbidden(layer, path, header)
                    if why:
                        line = text.count('\n', 0, match.start()) + 1
                        problems.append(f'{path}:{line}: includes {header}: {why}')
    return problems


def self_test():
    violations = {
        'lib/cache/a.h': '#include <uv.h>',
        'lib/json/b.cc': '#include "proxy/stream.h"',
        'lib/http/c.cc': '#include "filters/conditional/etag.h"',
        'filters/fields/d.cc': '#include "proxy/worker.h"',
        'filters/batch/e.cc': '#include <hiredis/hiredis.h>',
        'proxy/f.cc': '#include <yaml-cpp/yaml.h>',
        'proxy/g.cc': '#include "llhttp.h"',
        'filters/h.cc': '#include "config/loader.h"',
    }
    allowed = {
        'lib/http/ok.cc': '#include "llhttp.h"\n#include "config/config.h"',
        'config/ok.cc': '#include <yaml-cpp/yaml.h>',
        'proxy/ok.cc': '#include <uv.h>\n#include "filters/fields/x.h"\n#include "config/loader.h"',
        'filters/ok.cc': '#include "lib/cache/entry.h"',
    }
    with tempfile.TemporaryDirectory() as root:
        for path, text in {**violations, **allowed}.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), 'w') as f:
                f.write(text + '\n')
        found = {p.split(':', 1)[0] for p in check(root)}
    missed = sorted(set(violations) - found)
    wrongly = sorted(found - set(violations))
    for path in missed:
        print(f'self-test: the check missed {path}: {violations[path]}')
    for path in wrongly:
        print(f'self-test: the check refused an allowed include in {path}')
    return 1 if missed or wrongly else 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
    problems = check(os.path.abspath(root))
    for problem in problems:
        print(problem)
    if problems:
        print(f'{len(problems)} forbidden include(s); see the layers in README.md, "Layout"')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
