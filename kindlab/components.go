package kindlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/cri/images"
)

// componentsArchive holds the images of the user's components (Config.Scheduler,
// Config.ControllerManager), which every node imports.
func (l *Lab) componentsArchive() string { return filepath.Join(l.Dir, "data", "components.tar") }

// componentImage is the image of the user's executable that replaces component.
func componentImage(component string) string { return "clusterkit.local/custom-" + component + ":v1" }

// composeComponents makes an image of each user executable that replaces a component — the
// executable at /COMPONENT with the libraries it loads — into componentsArchive.
func (l *Lab) composeComponents(ctx context.Context, say func(string, ...any)) error {
	imgs := map[string]v1.Image{}
	for name, c := range map[string]Component{"kube-scheduler": l.Scheduler, "kube-controller-manager": l.ControllerManager} {
		if !c.custom() {
			continue
		}
		st, err := os.Stat(c.Replace)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s's replacement %s: not an executable file (%v)", name, c.Replace, err)
		}
		files, err := images.WithLibraries(ctx, c.Replace, "/"+name)
		if err != nil {
			return fmt.Errorf("%s's replacement %s: %w", name, c.Replace, err)
		}
		img, err := images.Compose(images.Spec{Files: files, Entrypoint: []string{"/" + name}})
		if err != nil {
			return fmt.Errorf("the image of %s: %w", c.Replace, err)
		}
		imgs[componentImage(name)] = img
		say("%s replaced by %s (image %s)", name, c.Replace, componentImage(name))
	}
	if len(imgs) == 0 {
		return nil
	}
	return writeArchive(l.componentsArchive(), imgs)
}

// replacedComponent is the static pod running the user's executable c in place of component
// name: its image, its arguments with $(KUBECONFIG) the component's kubeconfig (also in the
// environment), that kubeconfig's directory mounted.
func replacedComponent(name, cpu string, c Component, kubeconfig string) *corev1.Pod {
	p := staticComponent(name, cpu, c.Args, []string{filepath.Dir(kubeconfig)})
	ctr := &p.Spec.Containers[0]
	ctr.Image, ctr.Command, ctr.Args = componentImage(name), []string{"/" + name}, c.Args
	ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "KUBECONFIG", Value: kubeconfig})
	return p
}
