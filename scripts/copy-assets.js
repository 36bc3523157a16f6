// After tsc: the files the built code reads beside itself that are not TypeScript (the status
// page's HTML, script and style), copied into dist/ at the same relative place.
'use strict';
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const dir of ['gateway/fronts/status-page']) cpSync(join(root, dir), join(root, 'dist', dir), { recursive: true });
