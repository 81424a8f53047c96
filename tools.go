//go:build tools

// Package envshare pins modules that packages under construction will import, so that
// parallel work never edits go.mod at once. Removed once every import is real.
package envshare

import (
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	_ "github.com/dlclark/regexp2"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	_ "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ssm/v20190923"
	_ "github.com/tencentyun/scf-go-lib/cloudfunction"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sync/singleflight"
	_ "golang.org/x/time/rate"
	_ "sigs.k8s.io/yaml"
)
