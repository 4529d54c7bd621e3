// A TypeScript CDK app laid out as `cdk init app --language typescript` lays one out (compiled
// with tsc, run by cdk.json's app command), for tests/test_cdk_cli.py.
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { TableSafetyValidator, suppress } from '@tablesafe/cdk';

const app = new App();
const stack = new Stack(app, 'Shop');
const partitionKey = { name: 'pk', type: dynamodb.AttributeType.STRING };
if (app.node.tryGetContext('safe') !== 'true') {
  new dynamodb.Table(stack, 'Orders', { partitionKey }); // TS001, TS003 (`cdk synth -c safe=true` leaves it out)
}
const sessions = new dynamodb.Table(stack, 'Sessions', {
  partitionKey,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
});
suppress(sessions, 'TS003', 'Sessions expire after 24 h anyway'); // not reported
const timeoutSeconds = app.node.tryGetContext('timeoutSeconds'); // `cdk synth -c timeoutSeconds=2`
Validations.of(app).addPlugins(
  new TableSafetyValidator(timeoutSeconds ? { timeout: Duration.seconds(Number(timeoutSeconds)) } : {}),
);
