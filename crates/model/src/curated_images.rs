//! CodeBuild's curated images (CodeBuild User Guide, "Docker images provided
//! by CodeBuild" and "Lambda compute images") and where a user can really get
//! each: AWS publishes the Amazon Linux and Lambda ones on ECR Public
//! (`public.ecr.aws/codebuild/...`), and the Ubuntu `standard` ones only as
//! Dockerfiles in github.com/aws/aws-codebuild-docker-images. A build that
//! names `aws/codebuild/...` must not end in a Docker Hub lookup failure:
//! this table says what to pull, or how to build or map the image instead.
//! docs/reproducing.md ("Images") shows the same table.

/// The repository of every Dockerfile the table names.
pub const DOCKERFILES_REPOSITORY: &str = "https://github.com/aws/aws-codebuild-docker-images";

/// The prefix every curated image name has.
pub const CURATED_PREFIX: &str = "aws/codebuild/";

/// A repository of curated images and the tags whose Dockerfiles share a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CuratedFamily {
    /// The name CodeBuild knows, without the tag: `aws/codebuild/standard`.
    pub repository: &'static str,
    pub platform: &'static str,
    /// The same images on ECR Public, without the tag, when AWS publishes them.
    pub published_as: Option<&'static str>,
    /// The folder of the tags' Dockerfiles in aws-codebuild-docker-images,
    /// each tag a folder below it.
    pub dockerfiles: &'static str,
    /// The tags this row covers.
    pub tags: &'static [&'static str],
}

const LAMBDA_TAGS: &[&str] = &[
    "corretto11",
    "corretto17",
    "corretto21",
    "corretto25",
    "dotnet6",
    "dotnet8",
    "dotnet10",
    "go1.21",
    "go1.24",
    "go1.25",
    "nodejs18",
    "nodejs20",
    "nodejs22",
    "nodejs24",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "ruby3.2",
    "ruby3.4",
];

/// Every curated image pipelocal knows, newest rows of a repository first.
pub const CURATED_IMAGES: &[CuratedFamily] = &[
    CuratedFamily {
        repository: "aws/codebuild/standard",
        platform: "Ubuntu (5.0: 20.04, 6.0 and 7.0: 22.04, 8.0: 24.04)",
        published_as: None,
        dockerfiles: "ubuntu/standard",
        tags: &["5.0", "6.0", "7.0", "8.0"],
    },
    CuratedFamily {
        repository: "aws/codebuild/standard",
        platform: "Ubuntu (no longer supported)",
        published_as: None,
        dockerfiles: "unsupported_images/ubuntu/standard",
        tags: &["1.0", "2.0", "3.0", "4.0"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux-x86_64-standard",
        platform: "Amazon Linux (4.0, corretto8, corretto11: AL2; 5.0, 6.0: AL2023), x86_64",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux-x86_64-standard"),
        dockerfiles: "al/x86_64/standard",
        tags: &["4.0", "5.0", "6.0", "corretto8", "corretto11"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux2-x86_64-standard",
        platform: "Amazon Linux (the earlier name of amazonlinux-x86_64-standard), x86_64",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux2-x86_64-standard"),
        dockerfiles: "al/x86_64/standard",
        tags: &["4.0", "5.0", "corretto8", "corretto11"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux2-x86_64-standard",
        platform: "Amazon Linux 2 (no longer supported), x86_64",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux2-x86_64-standard"),
        dockerfiles: "unsupported_images/al2/x86_64/standard",
        tags: &["1.0", "2.0", "3.0"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux-aarch64-standard",
        platform: "Amazon Linux (2.0: AL2; 3.0, 4.0: AL2023), ARM",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux-aarch64-standard"),
        dockerfiles: "al/aarch64/standard",
        tags: &["2.0", "3.0", "4.0"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux2-aarch64-standard",
        platform: "Amazon Linux (the earlier name of amazonlinux-aarch64-standard), ARM",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux-aarch64-standard"),
        dockerfiles: "al/aarch64/standard",
        tags: &["2.0", "3.0"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux2-aarch64-standard",
        platform: "Amazon Linux 2 (no longer supported), ARM",
        published_as: None,
        dockerfiles: "unsupported_images/al2/aarch64/standard",
        tags: &["1.0"],
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux-x86_64-lambda-standard",
        platform: "Amazon Linux (Lambda compute), x86_64",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux-x86_64-lambda-standard"),
        dockerfiles: "al-lambda/x86_64",
        tags: LAMBDA_TAGS,
    },
    CuratedFamily {
        repository: "aws/codebuild/amazonlinux-aarch64-lambda-standard",
        platform: "Amazon Linux (Lambda compute), ARM",
        published_as: Some("public.ecr.aws/codebuild/amazonlinux-aarch64-lambda-standard"),
        dockerfiles: "al-lambda/aarch64",
        tags: LAMBDA_TAGS,
    },
];

/// An image name under `aws/codebuild/`, with what the table knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuratedImage {
    /// The name as the project gives it.
    pub image: String,
    pub tag: String,
    /// The table's row; `None` for a curated name pipelocal does not know
    /// (Windows images, a newer tag).
    pub family: Option<&'static CuratedFamily>,
}

/// Where a curated image can be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// AWS publishes it under this name: pull it.
    Published(String),
    /// AWS publishes no copy: build it from its Dockerfile (this folder of
    /// aws-codebuild-docker-images).
    DockerfileOnly(String),
    /// Neither is known.
    Unknown,
}

impl CuratedImage {
    /// The curated image `image` names, if it names one (`aws/codebuild/...`).
    pub fn find(image: &str) -> Option<CuratedImage> {
        let rest = image.strip_prefix(CURATED_PREFIX)?;
        let (name, tag) = match rest.rsplit_once(':') {
            Some((name, tag)) => (name, tag),
            None => (rest, "latest"),
        };
        let repository = format!("{CURATED_PREFIX}{name}");
        // A pinned version (`4.0-1.0.0`) is built from its major's Dockerfile.
        let major = tag.split('-').next().unwrap_or(tag);
        let rows = || CURATED_IMAGES.iter().filter(|f| f.repository == repository);
        let family = rows()
            .find(|f| f.tags.contains(&major))
            .or_else(|| rows().next());
        Some(CuratedImage {
            image: image.to_string(),
            tag: tag.to_string(),
            family,
        })
    }

    fn known_tag(&self) -> bool {
        let major = self.tag.split('-').next().unwrap_or(&self.tag);
        self.family.is_some_and(|f| f.tags.contains(&major))
    }

    /// The folder of its Dockerfile in aws-codebuild-docker-images.
    pub fn dockerfile_folder(&self) -> Option<String> {
        let major = self.tag.split('-').next().unwrap_or(&self.tag);
        self.family
            .filter(|_| self.known_tag())
            .map(|f| format!("{}/{major}", f.dockerfiles))
    }

    pub fn availability(&self) -> Availability {
        match (
            self.family.and_then(|f| f.published_as),
            self.dockerfile_folder(),
        ) {
            (Some(public), _) => Availability::Published(format!("{public}:{}", self.tag)),
            (None, Some(folder)) => Availability::DockerfileOnly(folder),
            (None, None) => Availability::Unknown,
        }
    }

    /// How to get the image when it is not here: build it from its
    /// Dockerfile, or map it to one that is.
    pub fn how_to_get(&self) -> String {
        let map = format!(
            "map it to an image you have with --image-map '{}=IMAGE' (a glob maps every curated image: --image-map 'aws/codebuild/*=IMAGE'; or image-map: in .pipelocal.yml)",
            self.image
        );
        match self.dockerfile_folder() {
            Some(folder) => format!(
                "build it from AWS's Dockerfile (git clone {DOCKERFILES_REPOSITORY} && cd aws-codebuild-docker-images/{folder} && docker build -t {} .), or {map}",
                self.image
            ),
            None => format!("pipelocal knows no Dockerfile of it: {map}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ubuntu_standard_images_are_only_dockerfiles() {
        let c = CuratedImage::find("aws/codebuild/standard:7.0").unwrap();
        assert_eq!(
            c.availability(),
            Availability::DockerfileOnly("ubuntu/standard/7.0".into())
        );
        assert!(c
            .how_to_get()
            .contains("docker build -t aws/codebuild/standard:7.0 ."));
        let old = CuratedImage::find("aws/codebuild/standard:4.0").unwrap();
        assert_eq!(
            old.dockerfile_folder().as_deref(),
            Some("unsupported_images/ubuntu/standard/4.0")
        );
    }

    #[test]
    fn amazon_linux_and_lambda_images_are_published() {
        let al = CuratedImage::find("aws/codebuild/amazonlinux-x86_64-standard:5.0").unwrap();
        assert_eq!(
            al.availability(),
            Availability::Published(
                "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0".into()
            )
        );
        let lambda =
            CuratedImage::find("aws/codebuild/amazonlinux-aarch64-lambda-standard:python3.12")
                .unwrap();
        assert_eq!(
            lambda.dockerfile_folder().as_deref(),
            Some("al-lambda/aarch64/python3.12")
        );
        let pinned =
            CuratedImage::find("aws/codebuild/amazonlinux2-x86_64-standard:4.0-1.0.0").unwrap();
        assert_eq!(
            pinned.dockerfile_folder().as_deref(),
            Some("al/x86_64/standard/4.0")
        );
    }

    #[test]
    fn other_names_are_not_curated_and_unknown_curated_names_say_so() {
        assert_eq!(CuratedImage::find("pipelocal/busybox"), None);
        assert_eq!(
            CuratedImage::find("public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0"),
            None
        );
        let windows = CuratedImage::find("aws/codebuild/windows-base:2019-3.0").unwrap();
        assert_eq!(windows.availability(), Availability::Unknown);
        assert!(windows.how_to_get().contains("--image-map"));
        let newer = CuratedImage::find("aws/codebuild/standard:99.0").unwrap();
        assert_eq!(newer.availability(), Availability::Unknown);
    }
}
