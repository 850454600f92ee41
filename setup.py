from setuptools import find_packages, setup

with open("packetnetworking/__init__.py") as f:
    version = next(line.split('"')[1] for line in f if line.startswith("__version__"))

setup(
    name="packet-networking",
    version=version,
    description="Write a bare-metal server's network configuration into its target root "
                "filesystem from the metadata service",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["packetnetworking", "packetnetworking.*"]),
    package_data={"packetnetworking": ["distros/*/templates/*.j2", "renderers/*/templates/*.j2"]},
    include_package_data=False,  # package_data names every template: no "would be ignored" warning
    python_requires=">=3.9",
    install_requires=["click>=7.0", "jinja2>=2.11", "requests>=2.20", "lxml>=4.6"],
    extras_require={
        "test": ["pytest>=7", "pytest-httpserver>=1.0", "hypothesis>=6", "pyyaml>=5"],
    },
    entry_points={"console_scripts": ["packet-networking = packetnetworking.entry:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Environment :: Console",
    ],
)
