'use strict';
// Spec output plus one plain closing line ("<label>: N passed, N failed, N skipped") that CI can read
// whatever runner it knows; skipped (pending) tests are counted so a silently skipped suite shows up.
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class PlainSummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const label = (options.reporterOptions && options.reporterOptions.label) || 'tests';
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      process.stdout.write(`${label}: ${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped\n`);
    });
  }
}
module.exports = PlainSummaryReporter;
