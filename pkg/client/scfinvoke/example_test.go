package scfinvoke_test

import (
	"context"
	"fmt"
	"os"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/scfinvoke"
)

// Invoking the function (serverless.yml's envshare) with Tencent Cloud credentials: no
// ENVSHARE_HTTP_AUTH, scf:InvokeFunction instead.
func ExampleNew() {
	cred := common.NewCredential(os.Getenv("TENCENTCLOUD_SECRET_ID"), os.Getenv("TENCENTCLOUD_SECRET_KEY"))
	tc := common.NewCommonClient(cred, "ap-guangzhou", profile.NewClientProfile())
	c := client.New(scfinvoke.New(tc, "envshare").WithNamespace("default"), client.Options{})
	res, err := c.Unshare(context.Background(), "prod-6gni9ity244a6ea3", []string{"wx5fe6bb43205e9e07"})
	if err != nil {
		panic(err) // a *client.Error; FunctionError for a failed invocation
	}
	fmt.Println(res.OK, res.Summary)
}
