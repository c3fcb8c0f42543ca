/**
 * @module test/support/fast-check-setup
 *
 * Property tests run their full number of cases or fail: a run cut short (a time limit hit on
 * a slow machine) is a failure, never a quiet pass on fewer cases than the test asks for.
 */
import fc from 'fast-check';

fc.configureGlobal({ markInterruptAsFailure: true });
