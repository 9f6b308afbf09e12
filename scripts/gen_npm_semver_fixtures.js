#!/usr/bin/env node
// Writes tests/data/npm_semver/*.json: inputs and the answers the real npm packages give for them.
//
// The inputs are node-semver's own test fixtures (test/fixtures/*.js of github.com/npm/node-semver),
// the cases issue 23 names, and a pool of versions every range is tried against. The answers are
// computed here by RUNNING the real `semver` (loose mode, what `npm install` uses) and
// `npm-pick-manifest`; nothing is written by hand. mirrorkit's test reads only the JSON, so CI does
// not need node.
//
// How to run (once; re-run when upgrading the reference packages):
//   cd /tmp && mkdir npmfx && cd npmfx && npm init -y >/dev/null && npm install semver@7 npm-pick-manifest
//   git clone https://github.com/npm/node-semver /tmp/node-semver   # only for test/fixtures
//   NODE_PATH=/tmp/npmfx/node_modules node scripts/gen_npm_semver_fixtures.js /tmp/node-semver tests/data/npm_semver
'use strict'

const fs = require('fs')
const path = require('path')
const semver = require('semver')
const pickManifest = require('npm-pick-manifest')

const [repo, outDir] = process.argv.slice(2)
if (!repo || !outDir) {
  console.error('usage: gen_npm_semver_fixtures.js NODE_SEMVER_CHECKOUT OUT_DIR')
  process.exit(2)
}
const LOOSE = { loose: true }
const fixture = name => require(path.resolve(repo, 'test', 'fixtures', name))
const isText = x => typeof x === 'string'

// -- the cases issue 23 names, and a few more of the same kind ----------------------------------
const HUGE = '9'.repeat(5000)
const ISSUE_RANGES = [
  '>1.2', '>1', '>=1.2', '<1.2', '<=1.2', '>1.2.x', '<=1', '>1.x.x', '<1.x', '>*', '<*', '>=*', '<=*',
  '^1.2-beta.1', '~0.3-alpha.1', '1.2-beta.1', '>1.2-beta.1', '^1.2-beta.1 || 2.x', '~0.3-alpha.1 || ^1.0.0',
  '^1.2-beta.1 2.x', '1.x || *', '* || 1.x', '^1 || * || 3', 'x || 2', '*', 'x', 'X', '', ' ', '||', '1 ||',
  '1.2 - 1.4', '1.2.3 - 1.4', '1 - 2', '1.2.3-alpha - 1.4.0-beta', '1.2 - 1.4 || 3', 'x - 1.2', '1.2 - x',
  '1.0.0+build', '=1.0.0+build.2', 'v1.0.0', '=v1.0.0', '1.0.0-rc.1+b5', '>= 1.2.3 < 2', '~ 1.2', '^ 1.2', '~> 1.2',
  '>=1.2.3 <=1.2.3', '>1.2.3 <1.2.3', '<0.0.0-0', '>=0.0.0', '>=0.0.0-0', '01.2.3', '1.02', '^01.2.3',
  '1.2.3beta', '^1.2.3beta', '1.2.3-beta.01', '1.2.3 || garbage', 'garbage', '>>1', '1.2.3.4', '^1.2.3.4',
  `1.2.${HUGE}`, `^${HUGE}.0.0`, `2.x ${HUGE}`, `${HUGE} || 1.x`, `>${'9'.repeat(30)}`, '>9007199254740991',
  '>9007199254740991.0.0', '^9007199254740991', '~9007199254740991.1', '<=9007199254740991.x',
  '9007199254740992.0.0', '^0.0.9007199254740991', `1.2.3-${'a'.repeat(300)}`,
]
const ISSUE_VERSIONS = [
  '1.3.0-beta', '1.3.0', '2.0.0-0', '2.0.0', '1.2.0-beta.1', '1.2.0-beta.2', '1.2.0', '0.3.0-alpha.1', '0.3.5',
  '1.0.0+build', '1.0.0+build.2', 'v1.0.0', '=1.0.0', ' 1.0.0 ', '1.2.3beta', '01.2.3', '1.2.3-01',
  `1.2.${HUGE}`, '9007199254740991.0.0', '9007199254740992.0.0', '1.2.3-9007199254740992', 'x', '',
]

// -- a pool of versions every range is tried against ----------------------------------------------
const POOL = [
  '0.0.0-0', '0.0.0', '0.0.1', '0.0.2-rc.1', '0.1.0', '0.2.3', '0.3.0-alpha.1', '0.3.0', '0.3.9', '0.9.9',
  '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.0+build', '1.0.1', '1.1.0',
  '1.2.0-beta.1', '1.2.0', '1.2.2', '1.2.3-pre', '1.2.3', '1.2.4-0', '1.2.4', '1.3.0-beta', '1.3.0', '1.4.9',
  '1.5.0-0', '1.5.0', '1.9.9', '2.0.0-0', '2.0.0-beta.1', '2.0.0', '2.1.0', '2.4.3-pre', '2.4.3', '3.0.0',
  '3.1.4', '10.0.0', 'v1.2.3', '=1.2.3', '1.2.3beta', '01.2.3',
]

function rangeCases (name, options) {
  return fixture(name).filter(c => isText(c[0]) && isText(c[1])).map((c, i) => ({
    range: c[0], version: c[1], source: `node-semver test/fixtures/${name}#${i}`, fixtureOptions: c[2] || null,
  }))
}

function satisfiesCases () {
  const named = [
    ...rangeCases('range-include.js'), ...rangeCases('range-exclude.js'),
    ...rangeCases('version-gt-range.js'), ...rangeCases('version-lt-range.js'),
    ...rangeCases('version-not-gt-range.js'), ...rangeCases('version-not-lt-range.js'),
  ]
  for (const r of ISSUE_RANGES) {
    for (const v of ISSUE_VERSIONS) {
      named.push({ range: r, version: v, source: 'issue 23 cases', fixtureOptions: null })
    }
  }
  return named.map(c => [c.range, c.version, semver.satisfies(c.version, c.range, LOOSE), c.source])
}

function allRanges () {
  const ranges = new Set(ISSUE_RANGES)
  const files = ['range-include.js', 'range-exclude.js', 'range-parse.js', 'version-gt-range.js',
    'version-lt-range.js', 'version-not-gt-range.js', 'version-not-lt-range.js']
  for (const name of files) {
    for (const c of fixture(name)) {
      if (isText(c[0])) {
        ranges.add(c[0])
      }
    }
  }
  return [...ranges]
}

function rangeParse (ranges) {
  return ranges.map(r => [r, semver.validRange(r, LOOSE)])
}

function poolCases (ranges) {
  return ranges.map(r => [r, POOL.map(v => semver.satisfies(v, r, LOOSE)), semver.maxSatisfying(POOL, r, LOOSE)])
}

function versionCases () {
  const texts = new Set([...ISSUE_VERSIONS, ...POOL])
  for (const c of fixture('valid-versions.js')) texts.add(c[0])
  for (const c of fixture('invalid-versions.js')) if (isText(c[0])) texts.add(c[0])
  for (const name of ['comparisons.js', 'equality.js']) {
    for (const c of fixture(name)) {
      texts.add(c[0])
      texts.add(c[1])
    }
  }
  const valid = [...texts].map(t => [t, semver.valid(t, LOOSE), semver.clean(t, LOOSE)])
  const pairs = []
  for (const name of ['comparisons.js', 'equality.js']) {
    fixture(name).forEach((c, i) => pairs.push([c[0], c[1], `node-semver test/fixtures/${name}#${i}`]))
  }
  const compare = pairs
    .filter(([a, b]) => semver.valid(a, LOOSE) && semver.valid(b, LOOSE))
    .map(([a, b, source]) => [a, b, semver.compare(a, b, LOOSE), source])
  const sorted = semver.sort(POOL.filter(v => semver.valid(v, LOOSE)), LOOSE)
  return { valid, compare, sorted }
}

// -- npm-pick-manifest: what `npm install name@wanted` picks ---------------------------------------
function packument (versions, distTags) {
  const doc = { name: 'p', 'dist-tags': distTags, versions: {} }
  for (const v of versions) {
    doc.versions[v] = { name: 'p', version: v }
  }
  return doc
}

const PACKUMENTS = [
  { id: 'plain', versions: ['1.0.0', '1.8.0', '1.8.1', '1.8.2', '1.9.0-rc.1', '2.0.0-beta.1', '2.0.0-beta.2', '0.9.0'],
    tags: { latest: '1.8.2', next: '2.0.0-beta.1' } },
  { id: 'prerelease-latest', versions: ['1.0.0', '1.1.0', '2.0.0-beta.1', '2.0.0-beta.2'],
    tags: { latest: '2.0.0-beta.2' } },
  { id: 'only-prereleases', versions: ['1.0.0-alpha.1', '1.0.0-alpha.2'], tags: { latest: '1.0.0-alpha.1' } },
  { id: 'latest-not-highest', versions: ['1.0.0', '1.5.0', '2.0.0', '2.1.0'], tags: { latest: '1.5.0' } },
  { id: 'no-latest', versions: ['1.0.0', '1.5.0', '2.0.0-rc.1'], tags: {} },
  { id: 'build-metadata', versions: ['1.0.0+b2', '1.0.0+b1', '1.0.0', '1.1.0+z', '1.1.0+a', '1.2.0+only'],
    tags: { latest: '1.0.0+b2' } },
  { id: 'build-metadata-2', versions: ['1.1.0+a', '1.1.0+z', '1.0.0'], tags: {} },
  { id: 'dangling-latest', versions: ['1.0.0', '1.1.0'], tags: { latest: '3.0.0', beta: '9.9.9' } },
  { id: 'loose-keys', versions: ['v1.0.0', '=1.1.0', '1.2.0', '01.3.0', '1.4.0beta'], tags: {} },
  { id: 'partials', versions: ['1.2.0', '1.2.9', '1.3.0-beta', '1.3.0', '1.4.0', '2.0.0-0', '2.0.0', '0.3.0-alpha.1', '0.3.1'],
    tags: { latest: '1.3.0-beta' } },
]
const WANTED = [
  'latest', 'next', 'beta', 'nope', '*', 'x', 'X', '1.x || *', '* || 1.x', '>=0.0.0', '^1.0.0', '~1.8', '1', '1.x',
  '^2.0.0-beta.1', '>=2.0.0-beta.1', '2.0.0-beta.1', '1.0.0', '=1.0.0', 'v1.0.0', ' 1.0.0 ', '1.0.0+b1',
  '1.0.0+b2', '1.0.0+nope', '1.2.0', '1.2.0+only', '1.1.0', '^1.1.0', '1.1.0+a', '>1.2', '>1', '<=1.2', '<1.3',
  '^1.2-beta.1', '~0.3-alpha.1', '^1.2-beta.1 || 2.x', '1.2 - 1.4', '1.2.3 - 2', '1.0 - 1.1', '>=1.0.0 <1.5.0',
  '^5', '3.0.0', '1.3.0', '01.3.0', '1.4.0-beta', '>=1.4.0-beta', `1.2.${HUGE}`, `^${HUGE}`,
  '9007199254740992.0.0', 'a b', '1.2.3.4',
]

function pickCases () {
  const cases = []
  for (const p of PACKUMENTS) {
    const doc = packument(p.versions, p.tags)
    for (const wanted of WANTED) {
      let answer
      try {
        answer = { version: pickManifest(doc, wanted).version }
      } catch (err) {
        answer = { error: err.code || err.message.split(':')[0] }
      }
      cases.push([p.id, wanted, answer])
    }
  }
  return { packuments: PACKUMENTS, cases }
}

function write (name, data) {
  const meta = {
    generatedBy: 'scripts/gen_npm_semver_fixtures.js',
    semver: require('semver/package.json').version,
    npmPickManifest: require('npm-pick-manifest/package.json').version,
    nodeSemverFixtures: 'github.com/npm/node-semver test/fixtures (inputs only; answers from running semver loose)',
  }
  fs.writeFileSync(path.join(outDir, name), JSON.stringify({ meta, ...data }) + '\n')
}

fs.mkdirSync(outDir, { recursive: true })
const ranges = allRanges()
write('satisfies.json', { cases: satisfiesCases() })
write('ranges.json', { parse: rangeParse(ranges), pool: POOL, poolCases: poolCases(ranges) })
write('versions.json', versionCases())
write('pick.json', pickCases())
