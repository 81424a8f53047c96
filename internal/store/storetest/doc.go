// Package storetest holds fakes of the cloud services behind envshare's stores, listening on
// 127.0.0.1, for the tests of any package:
//
//   - AWS: Secrets Manager (GetSecretValue, PutSecretValue), SSM Parameter Store (GetParameter,
//     PutParameter) and SQS (SendMessage), behind one URL, answering the services' JSON and
//     error shapes. Every request's SigV4 signature is computed again, independently of any
//     AWS library, and checked: credential scope, date, skew, session token, signed headers.
//   - Tencent: Cloud SSM (GetSecretValue, ListSecretVersionIds, UpdateSecret) and SCF (Invoke),
//     behind one URL, checking every request's TC3-HMAC-SHA256 signature the same way.
//
// Both count requests, record what matters (the messages sent, the invocations made), let a
// test read and set records, and inject failures (Fault) into the next calls. OnCall lets a
// test stop a call in the middle, to interleave writers.
//
// SetAWSEnv and SetTencentEnv put the test credentials in the environment (t.Setenv) and
// clear every other AWS_* or TENCENTCLOUD_* variable.
package storetest
