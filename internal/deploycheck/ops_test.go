package deploycheck

import (
	"reflect"
	"strings"
	"testing"
)

func TestTheFixedEgressIPIsOptionalAndOutput(t *testing.T) {
	sam, fn, _ := templates(t)
	vpc := asMap(fn["Properties"])["VpcConfig"]
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   any
	}{
		{"off by default: the function is in no VPC", nil, noValue},
		{"EnableFixedEgressIp: the template's private subnets behind its NAT gateway",
			map[string]string{"EnableFixedEgressIp": "true"},
			map[string]any{"SubnetIds": []any{"{Ref:EgressPrivateSubnetA}", "{Ref:EgressPrivateSubnetB}"},
				"SecurityGroupIds": []any{"{Ref:EgressSecurityGroup}"}}},
		{"VpcSubnetIds: your own subnets",
			map[string]string{"VpcSubnetIds": "subnet-1,subnet-2", "VpcSecurityGroupIds": "sg-1"},
			map[string]any{"SubnetIds": []any{"subnet-1", "subnet-2"}, "SecurityGroupIds": []any{"sg-1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCFNEval(t, sam, tc.params)
			got := e.mustEval(t, "the function's VpcConfig", vpc)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("VpcConfig = %#v, want %#v", got, tc.want)
			}
			on, err := e.cond("CreateEgressVpc")
			if err != nil {
				t.Fatal(err)
			}
			// Every resource of the egress VPC, and the EgressIp output, exist with it only.
			for _, id := range sortedKeys(asMap(sam["Resources"])) {
				if strings.HasPrefix(id, "Egress") && at(sam, "Resources", id, "Condition") != "CreateEgressVpc" {
					t.Errorf("%s is not under the condition CreateEgressVpc", id)
				}
			}
			if at(sam, "Outputs", "EgressIp", "Condition") != "CreateEgressVpc" || on != (tc.params["EnableFixedEgressIp"] == "true") {
				t.Errorf("the EgressIp output: %v (condition %v)", at(sam, "Outputs", "EgressIp"), on)
			}
		})
	}
	t.Run("the NAT gateway leaves through the Elastic IP that the output names", func(t *testing.T) {
		if got := scalar(at(sam, "Resources", "EgressNatGateway", "Properties", "AllocationId")); got != "EgressIp.AllocationId" {
			t.Errorf("the NAT gateway's AllocationId is %q", got)
		}
		if got := scalar(at(sam, "Outputs", "EgressIp", "Value")); got != "EgressIp" {
			t.Errorf("the output is %q, not the Elastic IP", got)
		}
		if got := scalar(at(sam, "Resources", "EgressPrivateRoute", "Properties", "NatGatewayId")); got != "EgressNatGateway" {
			t.Errorf("the private subnets' default route goes to %q", got)
		}
	})
}

func TestTheMakefileChecksBeforeItPackagesOrDeploys(t *testing.T) {
	for _, target := range []string{"build-aws", "build-scf", "deploy-aws"} {
		t.Run(target, func(t *testing.T) {
			out := makeDryRun(t, target)
			check := strings.Index(out, "go run ./scripts/predeploy manifest manifest.json")
			build := strings.Index(out, " build ")
			if target == "deploy-aws" {
				build = strings.Index(out, "sam build")
			}
			if check < 0 || build < 0 || check > build {
				t.Errorf("make %s does not check manifest.json before it builds:\n%s", target, out)
			}
		})
	}
	t.Run("build-EnvshareFunction", func(t *testing.T) {
		out := makeDryRun(t, "build-"+samFunctionID, "ARTIFACTS_DIR=/artifacts")
		if check, build := strings.Index(out, "scripts/predeploy manifest"), strings.Index(out, " build "); check < 0 || check > build {
			t.Errorf("sam build's target does not check manifest.json first:\n%s", out)
		}
	})
	t.Run("deploy-scf checks serverless.yml, .env and the credentials before the build and the CLI", func(t *testing.T) {
		out := makeDryRun(t, "deploy-scf")
		check, build, deploy := strings.Index(out, "scripts/predeploy scf serverless.yml"), strings.Index(out, "build-scf"),
			strings.Index(out, `"$cli" deploy`)
		if check < 0 || build < check || deploy < build {
			t.Errorf("make deploy-scf runs, in this order:\n%s", out)
		}
	})
	t.Run("clean keeps the installed tools; clean-tools removes them", func(t *testing.T) {
		root := absRoot(t)
		clean := makeDryRun(t, "clean")
		if strings.Contains(clean, "rm -rf "+root+"/bin ") || strings.Contains(clean, "rm -rf "+root+"/bin\n") ||
			!strings.Contains(clean, root+"/dist") {
			t.Errorf("make clean runs:\n%s", clean)
		}
		if tools := makeDryRun(t, "clean-tools"); !strings.Contains(tools, "rm -rf "+root+"/bin") {
			t.Errorf("make clean-tools runs:\n%s", tools)
		}
	})
}
