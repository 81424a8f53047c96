package store_test

import (
	"testing"

	"github.com/envshare/envshare/internal/linktest"
)

// TestLinks keeps each binary free of the other cloud's SDK: awsstore links no Tencent code and
// nothing of the AWS SDK but the SigV4 signer (no shared config, SSO, STS or IMDS chain),
// tencentstore links no AWS code and only the Tencent SDK's common client, store links only the
// standard library, and none links the fakes.
func TestLinks(t *testing.T) {
	linktest.Check(t, "./awsstore", []string{"github.com/aws/smithy-go/aws-http-auth/"}, []string{"tencentcloud", "aws-sdk-go-v2", "storetest"})
	linktest.Check(t, "./tencentstore", []string{"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"}, []string{"github.com/aws/", "tencentcloud/ssm", "storetest"})
	linktest.Check(t, ".", nil, []string{"storetest"})
}
