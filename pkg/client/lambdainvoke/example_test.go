package lambdainvoke_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/lambdainvoke"
)

// Invoking the function (the template's EnvshareFunction) with the caller's AWS configuration:
// no ENVSHARE_HTTP_AUTH, lambda:InvokeFunction instead.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx) // AWS_PROFILE, AWS_REGION, a role...
	if err != nil {
		panic(err)
	}
	c := client.New(lambdainvoke.New(lambda.NewFromConfig(cfg), "envshare"), client.Options{})
	res, err := c.Bindings(ctx, []string{"wx5fe6bb43205e9e07"})
	if err != nil {
		panic(err) // a *client.Error; FunctionError for a failed invocation
	}
	for _, b := range res.Bindings {
		fmt.Println(b.AppID, b.Envs)
	}
}
